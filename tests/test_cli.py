"""The ``imgsearch`` command, run as a separate process the way a person runs it.

The command runs as ``python -m imgsearch_helpers.cli`` from this checkout (the
``imgsearch`` script that ``pip install`` makes calls the same ``main``; a test
checks that entry point). The offline gallery and the course's clip-art models
play the photos and the model; a tiny SigLIP 2 in a temporary Hugging Face cache
plays the default model. The Ctrl-C test sends a real SIGINT.
"""
from __future__ import annotations

import importlib.util
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from badfiles import age, read_only_disk, write_bad_files
from conftest import install_in_hf_cache, make_picture, sigint_default

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "data" / "gallery"
MODEL = "imgsearch/clipart-clip"
# The held-out queries of data/models/EVAL.md and the kind of scene each must find first.
SEED_QUERIES = {"a beautiful lake with mountains": "lake_", "luxury car": "car_",
                "tree in nature": "tree_", "water and nature": "lake_"}


def _env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGSEARCH_")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
               IMGSEARCH_PROFILE="offline", HF_HUB_OFFLINE="1",
               XDG_CACHE_HOME=str(tmp / "user-cache"), HF_HUB_CACHE=str(tmp / "hf-cache"))
    env.update(extra)
    return env


def imgsearch(*args, cwd: Path, env: dict | None = None, timeout: float = 180,
              **kwargs) -> subprocess.CompletedProcess:
    """Run the command; returns the finished process (text stdout / stderr)."""
    return subprocess.run([sys.executable, "-m", "imgsearch_helpers.cli", *map(str, args)],
                          cwd=cwd, env=env or _env(cwd), capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def assert_one_line_error(proc, status: int, *words: str) -> str:
    """The exit status, and one line on stderr (no traceback) that says ``words``."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    message = lines[-1]
    assert len([l for l in lines if "error" in l]) == 1, proc.stderr
    for word in words:
        assert word in message, message
    return message


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the offline gallery (the command writes its index next to it)."""
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(GALLERY, root / "gallery")
    return root


# -- search ----------------------------------------------------------------------------

def test_seed_queries_find_the_right_scene_and_json_is_complete(workdir):
    proc = imgsearch("search", *SEED_QUERIES, "gallery", "-k", 3, "--model", MODEL, "--json",
                     cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"] == MODEL and data["folder"] == str(workdir / "gallery")
    assert Path(data["index"]).parent == workdir / "gallery" / ".imgsearch"
    assert [q["query"] for q in data["queries"]] == list(SEED_QUERIES)
    for query, answer in zip(SEED_QUERIES.values(), data["queries"]):
        results = answer["results"]
        assert [r["rank"] for r in results] == [1, 2, 3]
        assert Path(results[0]["path"]).name.startswith(query), answer
        assert all(Path(r["path"]).is_absolute() and Path(r["path"]).is_file() for r in results)
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)


def test_text_output_reuses_the_index_and_prints_openable_paths(workdir):
    imgsearch("index", "gallery", "--model", MODEL, cwd=workdir)      # built (or already)
    proc = imgsearch("search", "a beautiful lake with mountains", "gallery", "-k", 2,
                     "--model", MODEL, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "index updated" not in proc.stderr and "indexing" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    rank, score, path = lines[0].split()
    assert rank == "1" and -1 <= float(score) <= 1
    assert path.startswith("gallery/lake_") and (workdir / path).is_file()   # relative to cwd
    # From elsewhere, the same pictures come back as absolute paths.
    elsewhere = imgsearch("search", "a beautiful lake with mountains", workdir / "gallery",
                          "-k", 2, "--model", MODEL, cwd=workdir / "gallery" / ".imgsearch")
    assert elsewhere.stdout.split()[2] == str(workdir / path)


def test_paths_are_piped_into_another_command(workdir):
    search = subprocess.Popen(
        [sys.executable, "-m", "imgsearch_helpers.cli", "search", "a yellow car", "gallery",
         "--paths", "-k", "4", "--model", MODEL],
        cwd=workdir, env=_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listed = subprocess.run(["xargs", "-d", "\n", "ls", "-1"], stdin=search.stdout, cwd=workdir,
                            capture_output=True, text=True, timeout=180)
    search.stdout.close()
    assert search.wait(timeout=180) == 0, search.stderr.read()
    names = listed.stdout.split()
    assert listed.returncode == 0 and len(names) == 4 and names[0].startswith("gallery/car_")
    # A reader that stops early (head -1) is no error.
    proc = subprocess.run(f"{sys.executable} -m imgsearch_helpers.cli search 'a yellow car' gallery "
                          f"--paths -k 50 --model {MODEL} | head -1", shell=True, cwd=workdir,
                          env=_env(workdir), capture_output=True, text=True, timeout=180)
    assert proc.stdout.startswith("gallery/car_") and "Error" not in proc.stderr, proc.stderr


def test_combined_queries_add_and_subtract(workdir):
    """Notebook 04 from a terminal: a picture plus words, and "not like that"."""
    tree, lake = "gallery/tree_001.png", "gallery/lake_000.png"
    proc = imgsearch("search", tree, tree, "+2 snow", lake, lake, "- boat", "gallery", "-k", 10,
                     "--json", "--model", MODEL, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    plain, snowy, like_lake, not_boat = json.loads(proc.stdout)["queries"]
    assert snowy["query"] == f"{tree} +2 snow" and not_boat["query"] == f"{lake} - boat"

    def count(answer, kind):
        return sum(Path(r["path"]).name.startswith(kind) for r in answer["results"][:6])

    assert count(snowy, "snow_") > count(plain, "snow_")
    assert plain["results"][0]["path"].endswith(tree)        # a picture finds itself first
    # "- boat" changes the query, so the scores of the same picture change.
    assert like_lake["results"][0]["score"] != not_boat["results"][0]["score"]


def test_words_are_grouped_into_queries_with_weights(tmp_path, monkeypatch):
    from imgsearch_helpers.cli._search import Term, duplicate_groups, parse_queries

    monkeypatch.chdir(tmp_path)
    make_picture(0).save(tmp_path / "a.png")
    (tmp_path / "cat").write_text("a file named like a word")
    queries = parse_queries(["a lake", "+2 snow", "- boat", "a.png", "-0.7 a lake", "cat"])
    assert queries == [
        ("a lake +2 snow - boat", [Term("a lake", False), Term("snow", False, 1, 2.0),
                                    Term("boat", False, -1, None)]),
        ("a.png -0.7 a lake", [Term("a.png", True), Term("a lake", False, -1, 0.7)]),
        ("cat", [Term("cat", False)]),                 # a word, though a file "cat" exists
    ]
    assert duplicate_groups([(0, 1, 0.99), (5, 6, 0.98), (1, 2, 0.97)]) == [
        ([0, 1, 2], 0.97, 0.99), ([5, 6], 0.98, 0.98)]


def test_similar_leaves_the_query_picture_out(workdir):
    proc = imgsearch("similar", "gallery/cat_002.png", "gallery", "-k", 3, "--json", "--model",
                     MODEL, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    answer, = json.loads(proc.stdout)["queries"]
    paths = [Path(r["path"]).name for r in answer["results"]]
    assert len(paths) == 3 and "cat_002.png" not in paths


def test_duplicates_finds_the_copies(workdir, tmp_path):
    folder = tmp_path / "dups"
    shutil.copytree(GALLERY, folder, ignore=shutil.ignore_patterns("*.json"))
    from PIL import Image
    for name in ("boat_005.png", "flower_008.png"):
        with Image.open(folder / name) as im:
            im.convert("RGB").resize((im.width * 3 // 4, im.height * 3 // 4)).save(
                folder / f"copy_of_{Path(name).stem}.jpg", quality=85)
    proc = imgsearch("duplicates", folder, "--threshold", "0.98", "--json", "--model", MODEL,
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    groups = [{Path(p).name for p in g["paths"]} for g in json.loads(proc.stdout)["groups"]]
    for name in ("boat_005.png", "flower_008.png"):
        assert any({name, f"copy_of_{Path(name).stem}.jpg"} <= g for g in groups), groups
    # The clip-art model cannot tell copies from look-alikes (measured): the output says so.
    data = json.loads(proc.stdout)
    assert data["look_alikes"] is True
    assert "cannot tell copies from look-alikes" in proc.stderr
    text = imgsearch("duplicates", folder, "--model", MODEL, cwd=tmp_path)
    assert text.returncode == 0 and "groups of look-alikes (not necessarily copies)" in text.stdout
    assert f"cosine >= {0.95}" in text.stdout


def test_null_separated_paths_round_trip_a_name_with_a_newline(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    shutil.copy(GALLERY / "lake_030.png", folder / "lake\nby night.png")
    shutil.copy(GALLERY / "car_043.png", folder / "car.png")
    age(folder)
    proc = subprocess.run([sys.executable, "-m", "imgsearch_helpers.cli", "search", "a lake",
                           folder, "--paths", "-0", "-k", "2", "--model", MODEL],
                          cwd=tmp_path, env=_env(tmp_path), capture_output=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith(b"\0")
    names = proc.stdout[:-1].split(b"\0")
    assert sorted(names) == [b"odd/car.png", b"odd/lake\nby night.png"]
    assert all((tmp_path / os.fsdecode(n)).is_file() for n in names)
    # As xargs -0 reads them: two arguments, the newline kept.
    listed = subprocess.run(["xargs", "-0", "ls", "-1d", "--quoting-style=c"], input=proc.stdout,
                            cwd=tmp_path, capture_output=True, timeout=60)
    assert listed.returncode == 0 and b'"odd/lake\\nby night.png"' in listed.stdout
    alone = imgsearch("search", "a lake", folder, "-0", "--model", MODEL, cwd=tmp_path)
    assert_one_line_error(alone, 2, "-0/--null goes with --paths")


# -- bad input and errors --------------------------------------------------------------

def test_a_folder_with_bad_files_is_indexed_with_reasons(tmp_path):
    folder = tmp_path / "mixed"
    expected = write_bad_files(folder)
    for name in ("lake_030.png", "car_043.png"):
        shutil.copy(GALLERY / name, folder / name)
    age(folder)
    proc = imgsearch("index", folder, "--model", MODEL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"indexed mixed with {MODEL}: 2 pictures"
    assert f"embedded 2, reused 0, resumed 0, moved 0, removed 0, skipped {len(expected)}" \
        in proc.stdout
    if importlib.util.find_spec("pillow_heif"):
        expected["phone.heic"] = "pillow-heif cannot read"   # with it, a fake HEIC is bad data
    for name, word in expected.items():
        line, = [l for l in proc.stdout.splitlines() if l.startswith(f"  skipped mixed/{name}:")]
        assert word in line, line
    assert f"index: {folder / '.imgsearch'}" in proc.stdout
    # These are not the course's clip-art: the result says what that means.
    assert "knows only the drawn scenes it was trained on" in proc.stderr
    assert "Warning" not in proc.stderr            # one note, not a Python warning as well
    found = imgsearch("search", "a lake", folder, "--paths", "-k", 5, "--model", MODEL,
                      cwd=tmp_path)
    assert sorted(found.stdout.split()) == ["mixed/car_043.png", "mixed/lake_030.png"]


def test_stderr_of_index_on_the_fuzz_corpus_holds_only_the_commands_lines(tmp_path):
    """Pillow's warnings, libtiff's C-level messages, transformers' logging: none reach the
    terminal; every file they are about is in the skip list. --verbose shows them."""
    import numpy as np

    from formatseeds import seed_files
    from test_fuzz import _EXTENSION, mutate

    folder = tmp_path / "fuzz"
    folder.mkdir()
    rng = np.random.default_rng(22)
    for name, data in seed_files().items():
        ext = _EXTENSION.get(name, ".png")      # the other formats hide under a photo name
        (folder / f"{name}{ext}").write_bytes(data)
        for k in range(12):
            (folder / f"{name}_{k:02d}{ext}").write_bytes(mutate(data, rng))
    age(folder)
    long_query = " ".join(["lake"] * 5000)
    proc = imgsearch("search", long_query, folder, "--model", MODEL, "-k", "1", cwd=tmp_path,
                     timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith(("imgsearch: ", "indexing: ")) for line in lines), \
        "\n".join(l for l in lines if not l.startswith(("imgsearch: ", "indexing: ")))[:3000]
    listed = imgsearch("index", folder, "--model", MODEL, cwd=tmp_path)
    assert listed.returncode == 0 and "  skipped fuzz/" in listed.stdout
    assert all(line.startswith(("imgsearch: ", "indexing: "))
               for line in listed.stderr.splitlines()), listed.stderr
    # --verbose (what the command printed before): the libraries' own lines are shown.
    shutil.rmtree(folder / ".imgsearch")
    loud = imgsearch("index", folder, "--model", MODEL, "--verbose", cwd=tmp_path)
    assert loud.returncode == 0
    others = [l for l in loud.stderr.splitlines() if not l.startswith(("imgsearch: ", "indexing: "))]
    assert any("Warning" in l or "TIFF" in l for l in others), loud.stderr[:2000]


@pytest.mark.parametrize("args, status, words", [
    (["index", "no-such-folder", "--model", MODEL], 2, ["no such folder: no-such-folder"]),
    (["search", "a cat"], 1, ["google/siglip2-base-patch16-naflex", "is not on this computer",
                              "HF_HUB_OFFLINE is set", "`imgsearch prefetch`", "clip-art"]),
])
def test_expected_errors_are_one_line_with_an_exit_status(tmp_path, args, status, words):
    message = assert_one_line_error(imgsearch(*args, cwd=tmp_path), status, *words)
    assert message.startswith("imgsearch: error: ")


def test_offline_the_course_clipart_gets_the_offline_model_when_none_is_named(tmp_path):
    """Recognised by content (a copy elsewhere); a model named is still never swapped."""
    shutil.copytree(GALLERY, tmp_path / "copy")
    proc = imgsearch("search", "a beautiful lake with mountains", "copy", "-k", "1",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[2].startswith("copy/lake_")
    assert "using the offline profile's imgsearch/clipart-siglip" in proc.stderr
    assert "knows only the drawn scenes" not in proc.stderr
    named = imgsearch("search", "a lake", "copy", "--model", "openai/clip-vit-base-patch32",
                      cwd=tmp_path)
    assert_one_line_error(named, 1, "openai/clip-vit-base-patch32 is not on this computer")
    (tmp_path / "photos").mkdir()
    shutil.copy(GALLERY / "lake_030.png", tmp_path / "photos" / "mine.png")
    other = imgsearch("search", "a lake", "photos", cwd=tmp_path)
    assert_one_line_error(other, 1, "google/siglip2-base-patch16-naflex", "is not on this computer")


def test_a_mistyped_folder_is_an_error_never_a_query(tmp_path):
    """Run from an empty folder: nothing is indexed there, and the typo is named."""
    empty = tmp_path / "here"
    empty.mkdir()
    (empty / "pic.png").write_bytes((GALLERY / "lake_030.png").read_bytes())
    for args in (["search", "a lake", "/no/such/folder"],
                 ["search", "a lake", "/no/such/folder", "--model", MODEL],
                 ["search", "a lake", "./photos-typo", "--model", MODEL]):
        proc = imgsearch(*args, cwd=empty)
        assert_one_line_error(proc, 2, "no such folder: ", args[2])
    assert not (empty / ".imgsearch").exists()
    # A missing picture is not words either, whatever modifies it.
    proc = imgsearch("search", GALLERY / "nope.png", "+ autumn", GALLERY, "--model", MODEL,
                     cwd=empty)
    assert_one_line_error(proc, 2, f"picture not found: {GALLERY / 'nope.png'}")
    proc = imgsearch("search", "a lake", "- gallery/nope.png", "--model", MODEL, cwd=empty)
    assert_one_line_error(proc, 2, "picture not found: gallery/nope.png")
    # Words with a slash stay words when nothing suggests a path.
    from imgsearch_helpers.cli._search import looks_like_path
    assert not looks_like_path("AC/DC") and not looks_like_path("a cat")


@pytest.mark.parametrize("args, status, words", [
    (["search", "a cat", "--model", "openai/clip-vit-huge"], 2,
     ["unknown model 'openai/clip-vit-huge'", "imgsearch models"]),
    (["search", "a cat", "--model", "imgsearch/clipart-vit"], 2, ["no text encoder"]),
    (["search", "a cat", "--model", "qihoo360/fg-clip2-base"], 1,
     ["not on this computer", "imgsearch prefetch qihoo360/fg-clip2-base"]),
    (["search", "a cat", "--model", "."], 2, ["not a saved model (no config.json)"]),
    (["search", "+ snow", "a lake", "--model", MODEL], 2, ["comes first"]),
    (["search", "a cat", "--model", MODEL, "--device", "gpu"], 2, ["--device 'gpu'"]),
    (["similar", "missing.png", "--model", MODEL], 2, ["picture not found: missing.png"]),
    (["search", "bad.jpg", "--model", MODEL], 1, ["cannot read the query picture bad.jpg"]),
    (["search", "a cat", "empty", "--model", MODEL], 1, ["no pictures to search in empty"]),
])
def test_more_errors_in_process(tmp_path, monkeypatch, capsys, args, status, words):
    """The same handling, without a process per case: main() returns the status."""
    from imgsearch_helpers.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMGSEARCH_MODEL", raising=False)
    (tmp_path / "bad.jpg").write_bytes(b"not a picture")
    shutil.copy(GALLERY / "lake_030.png", tmp_path / "lake.png")
    (tmp_path / "empty").mkdir()
    assert main(args) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("imgsearch: error: ")
    for word in words:
        assert word in err[-1], err[-1]


def test_a_damaged_index_is_reported_and_left_alone(tmp_path, monkeypatch, capsys):
    from imgsearch_helpers.cli import main

    monkeypatch.chdir(tmp_path)
    shutil.copy(GALLERY / "lake_030.png", tmp_path / "lake.png")
    assert main(["index", "--model", MODEL]) == 0
    manifest, = tmp_path.glob(".imgsearch/*/manifest.json")
    manifest.write_text('{"format": "imgsearch-index", "trunc')
    capsys.readouterr()
    assert main(["search", "a lake", "--model", MODEL]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"imgsearch: error: {manifest} is not valid JSON")
    assert "move or delete its folder" in err[0]
    assert manifest.read_text() == '{"format": "imgsearch-index", "trunc'


@pytest.mark.parametrize("args, words", [
    (["search", "a cat", "--model", MODEL, "-C"], "unrecognized arguments: -C"),
    (["search", "a cat", "-k", "0", "--model", MODEL], "must be at least 1"),
    (["duplicates", "--threshold", "2"], "at most 1"),
])
def test_usage_errors_exit_with_status_2(tmp_path, args, words):
    proc = imgsearch(*args, cwd=tmp_path)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0].startswith("usage: imgsearch ")


def test_no_command_prints_the_help_and_exit_status_2(tmp_path):
    proc = imgsearch(cwd=tmp_path)
    assert proc.returncode == 2 and "imgsearch search" in proc.stderr and proc.stdout == ""


def test_every_subcommand_help_shows_an_example(tmp_path):
    from imgsearch_helpers.cli._main import build_parser

    parser, commands = build_parser()
    assert set(commands) == {"index", "search", "similar", "duplicates", "models", "prefetch",
                             "doctor", "app", "explain"}
    for name, sub in commands.items():
        text = sub.format_help()
        assert f"imgsearch {name}" in text.split("example", 1)[1], name


def test_the_default_model_is_used_when_it_is_cached(tmp_path, tiny_siglip2):
    """No --model: the online profile's SigLIP 2, here a tiny one under its real name."""
    env = _env(tmp_path)
    install_in_hf_cache(env["HF_HUB_CACHE"], "google/siglip2-base-patch16-naflex", tiny_siglip2)
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(3):
        make_picture(k).save(folder / f"p{k}.png")
    proc = imgsearch("search", "a red circle", folder, "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"] == "google/siglip2-base-patch16-naflex"
    assert len(data["queries"][0]["results"]) == 3
    assert "clip-art" not in proc.stderr
    # IMGSEARCH_MODEL names another default; the command never swaps it for another.
    env["IMGSEARCH_MODEL"] = "openai/clip-vit-base-patch32"
    proc = imgsearch("search", "a red circle", folder, cwd=tmp_path, env=env)
    assert_one_line_error(proc, 1, "openai/clip-vit-base-patch32 is not on this computer",
                          "imgsearch prefetch openai/clip-vit-base-patch32")


def test_a_read_only_folder_is_indexed_in_the_user_cache(tmp_path, monkeypatch, capsys):
    """In this process, with writes under the folder refused (EROFS): no other user is
    needed, so the test passes wherever the clone lives and whoever runs it."""
    from imgsearch_helpers.cli import main

    folder, cache = tmp_path / "photos", tmp_path / "cache"
    folder.mkdir()
    for name in ("lake_030.png", "car_043.png"):
        shutil.copy(GALLERY / name, folder / name)
    age(folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    read_only_disk(monkeypatch, folder)
    assert main(["search", "a lake", str(folder), "--model", MODEL, "--paths"]) == 0
    out, err = capsys.readouterr()
    assert out.split()[0] == "photos/lake_030.png"
    assert not (folder / ".imgsearch").exists()
    manifests = list((cache / "imgsearch" / "indexes").glob("photos-*/*/manifest.json"))
    assert len(manifests) == 1
    assert f"{folder} is read-only for you: its index is kept in {manifests[0].parent}" in err


def test_a_terminal_gets_a_progress_bar(tmp_path):
    pty, termios, fcntl = (pytest.importorskip(m) for m in ("pty", "termios", "fcntl"))
    import struct

    folder = tmp_path / "pics"
    folder.mkdir()
    for k in range(40):
        make_picture(k).save(folder / f"p{k}.png")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "imgsearch_helpers.cli", "index", str(folder),
                             "--model", MODEL], cwd=tmp_path, env=_env(tmp_path), stdin=slave,
                            stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # the other end closed: the command has finished
            break
        if not data:
            break
        out += data
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = out.decode()
    assert "indexing: 100%|" in text and "40/40" in text, text        # tqdm's bar
    assert "images to embed" not in text                              # not the plain lines


# -- Ctrl-C --------------------------------------------------------------------------

def test_ctrl_c_during_index_keeps_the_work_and_the_next_run_embeds_only_the_rest(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    total = 400
    for k in range(total):
        make_picture(k, size=(40, 32)).save(folder / f"p{k:03d}.png")
    age(folder)
    proc = subprocess.Popen([sys.executable, "-m", "imgsearch_helpers.cli", "index", str(folder),
                             "--model", MODEL], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    seen = []
    for line in proc.stderr:              # plain progress lines: stderr is not a terminal
        seen.append(line)
        if line.startswith("indexing: ") and "/" in line and not line.startswith("indexing: 0/"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("imgsearch: stopped: about ") and f"of {total} images" in last, last
    assert f"`imgsearch index many --model {MODEL}` goes on from there" in last
    done = int(last.split("about ")[1].split()[0])
    assert 0 < done < total, "the run ended before Ctrl-C: use more pictures"

    again = imgsearch("index", folder, "--model", MODEL, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    counts = dict(part.split() for part in again.stdout.splitlines()[1].strip().split(", "))
    resumed, embedded = int(counts["resumed"]), int(counts["embedded"])
    assert resumed + embedded == total and embedded < total
    # Every row the model had finished was kept (the last batch may not have been handed over).
    assert done - 32 <= resumed <= done
    assert f"{folder.name} with {MODEL}: {total} pictures" in again.stdout


# -- models, prefetch, doctor -----------------------------------------------------------

def test_models_table_says_what_is_here(tmp_path):
    proc = imgsearch("models", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line[2:].split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert "shipped" in rows["imgsearch/clipart-clip"]
    assert "not cached" in rows["openai/clip-vit-base-patch32"]      # an empty HF cache
    assert rows["google/siglip2-base-patch16-naflex"].startswith("* ")   # the default


def test_prefetch_offline_says_why_and_what_is_already_here(tmp_path):
    proc = imgsearch("prefetch", "imgsearch/clipart-clip", cwd=tmp_path)
    assert proc.returncode == 0 and "shipped with the course" in proc.stdout
    proc = imgsearch("prefetch", cwd=tmp_path)
    assert_one_line_error(proc, 1, "cannot download", "google/siglip2-base-patch16-naflex",
                          "HF_HUB_OFFLINE is set")


def test_prefetch_downloads_what_pytorch_reads(monkeypatch, capsys):
    """In-process, with the Hub replaced: the right files are asked for."""
    import huggingface_hub

    from imgsearch_helpers.cli import main

    calls = []
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("IMGSEARCH_PROFILE", raising=False)
    monkeypatch.setattr("imgsearch_helpers.models.hub_reachable", lambda: True)
    monkeypatch.setattr(huggingface_hub, "list_repo_files",
                        lambda name: ["config.json", "model.safetensors", "pytorch_model.bin"])
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        lambda name, ignore_patterns: calls.append((name, ignore_patterns))
                        or f"/cache/{name}")
    assert main(["prefetch", "openai/clip-vit-base-patch32", "imgsearch/clipart-vit"]) == 0
    (name, ignored), = calls
    assert name == "openai/clip-vit-base-patch32"
    assert "*.bin" in ignored and "*.h5" in ignored and "*.safetensors" not in ignored
    assert "[ ok ] openai/clip-vit-base-patch32" in capsys.readouterr().out


@pytest.mark.parametrize("args", [
    ["search", "a lake", "{folder}", "--model", "openai/clip-vit-base-patch32"],
    ["app", "{folder}", "-m", "openai/clip-vit-base-patch32", "-m", "google/siglip2-base-patch16-naflex"],
], ids=["search", "app-two-models"])
def test_the_command_asks_the_hub_once_for_its_models(args, monkeypatch, tmp_path, capsys):
    """Checking a model and then loading it was two probes of the Hub (check_model, then
    load_model); an app with two models, three. In-process, with the network replaced by
    a counter and the download stopped."""
    import contextlib

    from imgsearch_helpers import models
    from imgsearch_helpers.cli import main

    if args[0] == "app" and importlib.util.find_spec("voila") is None:
        pytest.skip("the app needs Voila")
    probes = []
    monkeypatch.setattr(models, "_hub_answers", {}, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("IMGSEARCH_PROFILE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(models.socket, "create_connection",
                        lambda *a, **kw: probes.append(a) or contextlib.nullcontext())

    def stop_before_downloading(name, *rest, **kw):
        raise models.ModelNotAvailableError(f"{name}: the test stops before downloading")

    monkeypatch.setattr(models, "_load", stop_before_downloading)
    folder = tmp_path / "pics"
    folder.mkdir()
    assert main([a.format(folder=folder) for a in args]) == 1
    assert "the test stops before downloading" in capsys.readouterr().err
    assert len(probes) == 1


def test_the_app_and_search_describe_device_and_verbose_alike(capsys):
    """One definition of --device and --verbose (the app used to say less: no $IMGSEARCH_DEVICE)."""
    from imgsearch_helpers.cli import main

    def options(command):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        return text[text.index("  --device"):text.index("  -v, --verbose")]

    assert options("app") == options("search")
    assert "$IMGSEARCH_DEVICE" in options("app").replace("\n", " ").replace("  ", "")


def test_doctor_checks_the_offline_profile_and_says_ready(tmp_path):
    proc = imgsearch("doctor", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    for label in ("Python", "torch", "device", "HF cache", "Hub", "profile"):
        assert any(line.startswith(label) for line in lines), label
    assert "profile    offline (chosen by IMGSEARCH_PROFILE=offline)" in lines
    checks = [line for line in lines if line.startswith("[ ok ]")]
    assert len(checks) == 4        # the gallery and three models
    assert any('"a beautiful lake with mountains" finds lake_' in line for line in checks)
    assert lines[-1] == ("ready: the offline profile's 3 models load, run and find the right "
                         "picture on cpu")


def test_doctor_online_without_the_models_is_not_ready_and_says_what_to_do(tmp_path):
    proc = imgsearch("doctor", "--profile", "online", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.count("[FAIL]") == 3 and "Traceback" not in proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("not ready for the online profile: 3 models are not on this computer")
    assert "`imgsearch prefetch` while online" in last and "--profile offline" in last


def test_the_imgsearch_script_runs_cli_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"imgsearch": "imgsearch_helpers.cli:main"}
    module, func = scripts["imgsearch"].split(":")
    from imgsearch_helpers.cli import main
    assert getattr(importlib.import_module(module), func) is main


def test_app_refuses_a_port_in_use(tmp_path, monkeypatch, capsys):
    import socket

    from imgsearch_helpers.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", str(tmp_path), "--model", MODEL, "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_ctrl_c_on_app_exits_130(monkeypatch, capsys):
    from imgsearch_helpers.cli import _app
    from imgsearch_helpers.cli._common import Interrupted

    class Serving:
        returncode = None

        def wait(self):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        _app._serve(Serving())
    assert info.value.status == 130


def test_a_child_started_by_a_test_gets_ctrl_c_even_where_the_shell_ignores_it(tmp_path):
    """`make test &` starts the suite with SIGINT ignored, and children inherit that."""
    code = "import signal, time; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ignored = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              preexec_fn=sigint_default)
    finally:
        signal.signal(signal.SIGINT, old)
    assert ignored.stdout.strip() == "True" and ours.stdout.strip() == "False"


# -- search --matches, --like / --unlike, --after / --before / --sort ------------------

# Several pictures of the gallery match it (five snowmen), so -k can show fewer than match.
MATCH_QUERY = "a snowman on a winter day"


@pytest.fixture(scope="module")
def matches_workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-matches")
    shutil.copytree(GALLERY, root / "gallery")
    return root


def _results(proc) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["queries"][0]["results"]


def test_matches_prints_only_the_matches_with_their_probability(matches_workdir):
    everything = _results(imgsearch("search", MATCH_QUERY, "gallery", "-k", 50, "--json",
                                    "--model", MODEL, cwd=matches_workdir))
    matches = _results(imgsearch("search", MATCH_QUERY, "gallery", "--matches", "--json",
                                 "--model", MODEL, cwd=matches_workdir))
    assert 0 < len(matches) < len(everything)
    assert [m["path"] for m in matches] == [e["path"] for e in everything[:len(matches)]]
    assert all(m["p_match"] >= 0.5 for m in matches)
    assert all("p_match" not in e for e in everything)
    text = imgsearch("search", MATCH_QUERY, "gallery", "--matches", "--model", MODEL, cwd=matches_workdir)
    lines = text.stdout.strip().splitlines()
    n = len(matches)
    assert lines[-1] == (f"{n} of 50 pictures match" if n != 1 else "1 of 50 pictures matches")
    assert len(lines) == len(matches) + 1 and all(" p " in line for line in lines[:-1])
    paths = imgsearch("search", MATCH_QUERY, "gallery", "--matches", "--paths", "--model", MODEL,
                      cwd=matches_workdir)
    assert len(paths.stdout.strip().splitlines()) == len(matches)
    # -k shows fewer; the count stays the number of matches.
    two = imgsearch("search", MATCH_QUERY, "gallery", "--matches", "-k", 2, "--json", "--model", MODEL,
                    cwd=matches_workdir)
    data = json.loads(two.stdout)["queries"][0]
    assert data["matches"] == len(matches) and len(data["results"]) == 2


def test_a_query_nothing_matches_names_the_closest_picture(matches_workdir):
    """The gallery has no red car: the count says so, and how close its best picture came."""
    best = _results(imgsearch("search", "a red car", "gallery", "-k", 1, "--json", "--model", MODEL,
                              cwd=matches_workdir))[0]
    data = json.loads(imgsearch("search", "a red car", "gallery", "--matches", "--json", "--model",
                                MODEL, cwd=matches_workdir).stdout)["queries"][0]
    assert data["matches"] == 0 and data["results"] == []
    proc = imgsearch("search", "a red car", "gallery", "--matches", "--model", MODEL, cwd=matches_workdir)
    assert proc.returncode == 0, proc.stderr
    line, = proc.stdout.splitlines()
    found = re.fullmatch(r"0 of 50 pictures match; the closest, (\S+), has p (0\.\d\d) "
                         r"\(a match needs 0\.50\)", line)
    assert found, line
    assert Path(matches_workdir / found.group(1)).resolve() == Path(best["path"]).resolve()
    assert float(found.group(2)) < 0.5
    # Scripts get no extra line: --paths prints nothing at all.
    paths = imgsearch("search", "a red car", "gallery", "--matches", "--paths", "--model", MODEL,
                      cwd=matches_workdir)
    assert paths.returncode == 0 and paths.stdout == ""


def test_like_moves_a_liked_picture_up_and_unlike_moves_one_down(matches_workdir):
    before = [r["path"] for r in _results(imgsearch(
        "search", MATCH_QUERY, "gallery", "-k", 50, "--json", "--model", MODEL, cwd=matches_workdir))]
    liked, disliked = before[9], before[0]
    after = [r["path"] for r in _results(imgsearch(
        "search", MATCH_QUERY, "gallery", "-k", 50, "--json", "--model", MODEL, "--like", liked,
        "--unlike", disliked, cwd=matches_workdir))]
    assert after.index(liked) < 9 and after.index(disliked) > 0


def test_like_needs_a_picture_file(matches_workdir):
    proc = imgsearch("search", MATCH_QUERY, "gallery", "--like", "no-such.png", "--model", MODEL,
                     cwd=matches_workdir)
    assert_one_line_error(proc, 2, "--like and --unlike take picture files", "no-such.png")


def test_after_before_and_sort_time(tmp_path):
    from test_capture import jpeg

    folder = tmp_path / "trip"
    folder.mkdir()
    jpeg(folder / "c.jpg", (200, 30, 30), "2024:06:15 18:00:00", "+02:00", "Canon", "Canon EOS R6")
    jpeg(folder / "a.jpg", (30, 200, 30), "2024:04:20 09:00:00", "+02:00")
    jpeg(folder / "b.jpg", (30, 30, 200), "2024:05:01 10:00:00")
    proc = imgsearch("search", "a red car", folder, "--json", "--sort", "time", "--after",
                     "2024-05-01", "--model", MODEL, cwd=tmp_path)
    results = _results(proc)
    assert [r["path"].rsplit("/", 1)[1] for r in results] == ["b.jpg", "c.jpg"]
    assert results[1]["taken"] == "2024-06-15T18:00:00+02:00"
    assert results[1]["camera"] == "Canon EOS R6" and results[0]["taken_from"] == "exif-local"
    text = imgsearch("search", "a red car", folder, "--before", "2024-04-30", "--model", MODEL,
                     cwd=tmp_path).stdout
    assert "a.jpg" in text and "2024-04-20 09:00+02:00" in text and "b.jpg" not in text
    bad = imgsearch("search", "a red car", folder, "--after", "last May", "--model", MODEL,
                    cwd=tmp_path)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_matches_in_a_date_range_are_counted_among_the_pictures_taken_then(tmp_path):
    from test_capture import jpeg

    folder = tmp_path / "trip"
    folder.mkdir()
    jpeg(folder / "c.jpg", (200, 30, 30), "2024:06:15 18:00:00", "+02:00")
    jpeg(folder / "a.jpg", (30, 200, 30), "2024:04:20 09:00:00", "+02:00")
    jpeg(folder / "b.jpg", (30, 30, 200), "2024:05:01 10:00:00")
    proc = imgsearch("search", "a red car", folder, "--matches", "--after", "2024-05-01",
                     "--model", MODEL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.splitlines()[-1]
    assert re.fullmatch(r"(\d) of 2 pictures? match(es)? \(2 of the 3 were taken in those dates\)"
                        r"(; the closest, trip/[bc]\.jpg, has p 0\.\d\d \(a match needs 0\.50\))?", last), last
    none = imgsearch("search", "a red car", folder, "--matches", "--before", "2020-01-01",
                     "--model", MODEL, cwd=tmp_path)
    assert none.returncode == 0 and none.stdout == "no picture of the 3 was taken in those dates\n"


def test_a_detail_the_model_reads_poorly_gets_a_note_and_scripts_still_get_clean_output(tmp_path):
    from imgsearch_helpers.evaluation import detail_note

    folder = tmp_path / "gallery"
    shutil.copytree(GALLERY, folder)
    model = "imgsearch/clipart-siglip"
    expected = detail_note(model, "a red car")
    assert expected
    proc = imgsearch("search", "a red car", "a red house", "a lake", folder, "-k", 2, "--model", model,
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("note: " + expected) == 1     # once, though two queries name a colour
    # stdout is the results only: a heading per query, then its ranked lines.
    lines = [l for l in proc.stdout.splitlines() if l]
    assert lines == [l for l in lines if l.endswith(":") or re.match(r"\s+\d+\s+-?\d\.\d{3}\s+gallery/", l)]
    assert len(lines) == 3 + 3 * 2
    # Only the words a query adds count: "- red" asks for no colour.
    for words in (["a lake"], ["a cat", "- red"]):
        quiet = imgsearch("search", *words, folder, "-k", 2, "--model", model, cwd=tmp_path)
        assert quiet.returncode == 0 and "poorly" not in quiet.stderr, (words, quiet.stderr)
    as_json = imgsearch("search", "a red car", folder, "-k", 2, "--model", model, "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout)["queries"][0]["query"] == "a red car"
