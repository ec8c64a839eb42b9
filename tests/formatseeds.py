"""One small valid file of every format Pillow can open, made at test time (fuzz seeds).

Formats Pillow can write are saved by Pillow; the read-only ones are put together
byte by byte from their headers. :func:`seed_files` returns them all; a test checks
that every format Pillow registers for opening has a seed here, so a new Pillow
plugin is noticed.
"""
from __future__ import annotations

import functools
import io
import struct
import warnings

import numpy as np
from PIL import Image

from badfiles import quadrants

W, H = 24, 16


def _picture(mode: str = "RGB") -> Image.Image:
    im = quadrants((W, H))
    if mode == "F":
        return Image.fromarray(np.asarray(im.convert("L"), dtype=np.float32) / 255.0, "F")
    return im.convert(mode)


def _saved(fmt: str, mode: str = "RGB", **kwargs) -> bytes:
    buf = io.BytesIO()
    _picture(mode).save(buf, fmt, **kwargs)
    return buf.getvalue()


def _fits() -> bytes:
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8",
             "NAXIS   =                    2", f"NAXIS1  = {W:20d}", f"NAXIS2  = {H:20d}", "END"]
    header = "".join(c.ljust(80) for c in cards).ljust(2880).encode("ascii")
    data = np.asarray(_picture("L")).tobytes()
    return header + data.ljust(2880, b"\0")


def _fli() -> bytes:
    frame_body = struct.pack("<IH", 6 + 2 + 2 + 3 * 256, 4) + struct.pack("<HBB", 1, 0, 0) \
        + bytes(range(256)) * 3
    frame = struct.pack("<IHH", 16 + len(frame_body), 0xF1FA, 1) + b"\0" * 8 + frame_body
    header = bytearray(128)
    struct.pack_into("<IHHHHHHI", header, 0, 128 + len(frame), 0xAF12, 1, W, H, 8, 0, 5)
    return bytes(header) + frame


def _ftex() -> bytes:
    data = _picture().tobytes()
    head = b"FTEX" + struct.pack("<i2i2i2i", 0, W, H, 1, 1, 1, 32)
    return head + struct.pack("<i", len(data)) + data


def _gbr() -> bytes:
    name = b"seed\0"
    head = struct.pack(">5I", 28 + len(name), 2, W, H, 1) + b"GIMP" + struct.pack(">I", 10)
    return head + name + np.asarray(_picture("L")).tobytes()


def _imt() -> bytes:
    return (b"width %d\nheight %d\npixel n8\n\x0c" % (W, H)) + np.asarray(_picture("L")).tobytes()


def _iptc() -> bytes:
    def field(record, tag, data):
        return struct.pack(">BBBH", 0x1C, record, tag, len(data)) + data
    pixels = np.asarray(_picture("L")).tobytes()
    return (field(3, 60, b"\x01\x00") + field(3, 20, struct.pack(">H", W))
            + field(3, 30, struct.pack(">H", H)) + field(3, 120, b"\x01")
            + field(8, 10, pixels))


def _mcidas() -> bytes:
    w = [0] * 64
    # The plugin numbers these words from 1: its w[9] is w[8] here.
    w[1] = 4                          # the "area" version the plugin accepts
    w[8], w[9], w[10], w[13] = H, W, 1, 1     # lines, elements, 1 byte a pixel, 1 band
    w[33] = 256                       # where the pixels start
    return struct.pack("!64i", *w) + np.asarray(_picture("L")).tobytes()


def _mpeg() -> bytes:
    return b"\x00\x00\x01\xb3" + bytes([W >> 4, ((W & 15) << 4) | (H >> 8), H & 255]) + b"\0" * 32


def _pcd() -> bytes:
    return b"\0" * 2048 + b"PCD_IPI" + b"\0" * 2048


def _pixar() -> bytes:
    head = bytearray(1024)
    head[:4] = b"\200\350\000\000"
    struct.pack_into("<HH", head, 416, H, W)
    struct.pack_into("<HH", head, 424, 14, 2)
    return bytes(head) + _picture().tobytes()


def _psd() -> bytes:
    planes = b"".join(band.tobytes() for band in _picture().split())
    return (b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, H, W, 8, 3)
            + struct.pack(">I", 0) * 3 + struct.pack(">H", 0) + planes)


def _sun() -> bytes:
    data = np.asarray(_picture())[:, :, ::-1].tobytes()
    return struct.pack(">8I", 0x59A66A95, W, H, 24, len(data), 1, 0, 0) + data


def _xpm() -> bytes:
    rows = ["".join("ab"[(x // 4 + y // 4) % 2] for x in range(W)) for y in range(H)]
    lines = [f'"{W} {H} 2 1"', '"a c #ff0000"', '"b c #0000ff"'] + [f'"{r}"' for r in rows]
    return ("/* XPM */\nstatic char *seed[] = {\n" + ",\n".join(lines) + "\n};\n").encode()


def _xvthumb() -> bytes:
    return (b"P7 332\n#XVVERSION\n#END_OF_COMMENTS\n%d %d 255\n" % (W, H)
            + np.asarray(_picture("L")).tobytes())


def _dcx() -> bytes:
    pcx = _saved("PCX")
    return struct.pack("<III", 987654321, 12, 0) + pcx


def _cur() -> bytes:
    data = bytearray(_saved("ICO", sizes=[(W, H)], bitmap_format="bmp"))
    data[2] = 2                       # resource type 2: a cursor
    return bytes(data)


def _wmf() -> bytes:
    head = struct.pack("<IHhhhhHIH", 0x9AC6CDD7, 0, 0, 0, W * 10, H * 10, 1440, 0, 0)
    checksum = 0
    for (word,) in struct.iter_unpack("<H", head[:20]):
        checksum ^= word
    return head[:20] + struct.pack("<H", checksum) + b"\x01\x00\x09\x00\x00\x03" + b"\0" * 64


def seed_files() -> dict[str, bytes]:
    """{Pillow format name: the bytes of one small valid file of it}."""
    return dict(_seeds())


@functools.lru_cache(maxsize=1)
def _seeds() -> dict[str, bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)     # Pillow 13 deprecates IM
        im_file = _saved("IM")
    seeds = {
        "JPEG": _saved("JPEG", quality=90), "PNG": _saved("PNG"), "GIF": _saved("GIF"),
        "BMP": _saved("BMP"), "DIB": _saved("DIB"), "TIFF": _saved("TIFF"),
        "WEBP": _saved("WEBP"), "AVIF": _saved("AVIF"), "JPEG2000": _saved("JPEG2000"),
        "ICO": _saved("ICO", sizes=[(W, H)]), "ICNS": _saved("ICNS"), "PCX": _saved("PCX"),
        "PPM": _saved("PPM"), "SGI": _saved("SGI"), "TGA": _saved("TGA"), "IM": im_file,
        "MSP": _saved("MSP", "1"), "XBM": _saved("XBM", "1"), "BLP": _saved("BLP", "P"),
        "DDS": _saved("DDS", "RGBA"), "SPIDER": _saved("SPIDER", "F"), "QOI": _saved("QOI"),
        "EPS": _saved("EPS"), "MPO": _saved("MPO", save_all=True,
                                           append_images=[_picture()]),
        "TIFF_G4": _saved("TIFF", "1", compression="group4"),
        "PNG_APNG": _saved("PNG", save_all=True, append_images=[_picture("L")]),
        "BUFR": b"BUFR" + b"\0" * 60, "GRIB": b"GRIB\0\0\0\x01" + b"\0" * 60,
        "HDF5": b"\x89HDF\r\n\x1a\n" + b"\0" * 60,
        "FITS": _fits(), "FLI": _fli(), "FTEX": _ftex(), "GBR": _gbr(), "IMT": _imt(),
        "IPTC": _iptc(), "MCIDAS": _mcidas(), "MPEG": _mpeg(), "PCD": _pcd(),
        "PIXAR": _pixar(), "PSD": _psd(), "SUN": _sun(), "XPM": _xpm(),
        "XVTHUMB": _xvthumb(), "DCX": _dcx(), "CUR": _cur(), "WMF": _wmf(),
    }
    try:
        import pillow_heif
    except ImportError:
        pass
    else:
        pillow_heif.register_heif_opener()
        seeds["HEIF"] = _saved("HEIF", quality=90)
    return seeds
