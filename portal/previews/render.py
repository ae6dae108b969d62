"""The preview worker: turn untrusted file bytes into small PNGs, in a process of its own.

Run by the portal as ``python -I render.py MEM CPU WIDTH PAGES PIXELS FRAME`` (by path, so it imports
neither the portal nor Flask, and sees no secret: the parent passes an empty environment).
It limits itself *before* it reads a byte of input: address space, CPU seconds, no files
written, no core dumps, and (once its libraries are loaded) no new descriptors at all. Then it reads the file from stdin, sniffs what it really is (the name
and the ATS's content type are not trusted), renders with pypdfium2 (PDF) or Pillow (images)
and writes ``>I`` page count, then per picture ``>I`` length and the PNG, to stdout.
Exit 0: rendered; exit 2: not a file we preview, or refused (a bomb); anything else (a
crash, SIGXCPU, SIGKILL from the parent's wall clock) also means "no preview".
"""

from __future__ import annotations

import io
import resource
import struct
import sys
from typing import Any

REFUSED = 2
MAX_ASPECT = 3  # a picture at most 3x as tall as wide (a 1x100000 page is not a preview)


def limit(memory: int, cpu: int) -> None:
    """Cap this process: memory (address space), CPU time, no file writes, no core dumps."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def load_renderers() -> None:
    """Import every module a render needs now, while files may still be opened."""
    import pypdfium2  # type: ignore[import-untyped]  # noqa: F401
    from PIL import (  # noqa: F401
        GifImagePlugin,
        Image,
        ImageOps,
        JpegImagePlugin,
        PngImagePlugin,
        WebPImagePlugin,  # noqa: F401
    )

    Image.preinit()


def no_new_files() -> None:
    """From here on no descriptor can be opened (no file, no socket): only stdin/out/err.

    A render needs none (fonts pdfium lacks fall back to its built-in ones), and a worker taken
    over by a hostile file cannot connect anywhere or read anything.
    """
    resource.setrlimit(resource.RLIMIT_NOFILE, (3, 3))


FRAME_COLOUR = (154, 163, 178)  # a white page needs an edge on a white list, and on a dark one


def _png(image: Any, frame: bool) -> bytes:
    if frame:
        from PIL import ImageOps

        fill = FRAME_COLOUR + (255,) if image.mode == "RGBA" else FRAME_COLOUR
        image = ImageOps.expand(image.convert("RGBA" if image.mode == "RGBA" else "RGB"), 1, fill)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def render_pdf(data: bytes, width: int, pages: int) -> tuple[int, list[Any]]:
    """The first `pages` pages of a PDF, each `width` pixels wide (no forms, no JavaScript)."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    pdf = pdfium.PdfDocument(data)
    total = len(pdf)
    out = []
    for index in range(min(total, pages)):
        page = pdf[index]
        w, h = page.get_size()
        if not (w > 0 and h > 0):
            raise ValueError("page has no size")
        scale = min(width / w, width * MAX_ASPECT / h)
        bitmap = page.render(scale=scale, may_draw_forms=False)
        out.append(bitmap.to_pil())
    return total, out


def render_image(data: bytes, width: int, max_pixels: int) -> tuple[int, list[Any]]:
    """The first frame of a PNG, JPEG, GIF or WebP, scaled down to `width` pixels wide."""
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)  # past the limit: refuse
    with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "GIF", "WEBP"]) as im:
        if im.width * im.height > max_pixels:
            raise Image.DecompressionBombError("too many pixels")
        im.draft("RGB", (width, width * MAX_ASPECT))  # JPEG: decode at a reduced size
        im.seek(0)
        picture = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
    picture.thumbnail((width, width * MAX_ASPECT))
    return 1, [picture]


def main(argv: list[str]) -> int:
    """Limit, read, sniff, render, write; see the module docstring for the protocol."""
    memory, cpu, width, pages, max_pixels, frame = (int(a) for a in argv[1:7])
    limit(memory, cpu)
    load_renderers()
    no_new_files()
    data = sys.stdin.buffer.read()
    inner = width - 2 if frame else width  # the frame keeps the picture `width` wide
    try:
        if b"%PDF-" in data[:1024]:
            total, images = render_pdf(data, inner, pages)
        else:
            total, images = render_image(data, inner, max_pixels)
        pictures = [_png(image, bool(frame)) for image in images]
    except MemoryError:
        return REFUSED
    except Exception as err:  # noqa: BLE001 - any failure of a hostile file is "no preview"
        sys.stderr.write(f"{type(err).__name__}\n")
        return REFUSED
    out = sys.stdout.buffer
    out.write(struct.pack(">I", total))
    for picture in pictures:
        out.write(struct.pack(">I", len(picture)))
        out.write(picture)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
