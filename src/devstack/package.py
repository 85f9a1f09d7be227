"""`make package`: what `sam deploy --template-file build/template.yaml` uploads and deploys.

    build/layer/python/      the shared core (src/ventas) and its runtime dependencies, built for
                             the Lambda runtime of infra/template.yaml (python3.12, arm64)
    build/functions/<name>/  each function's own code
    build/dist/*.zip         the packages CodeUri/ContentUri point at (reproducible zips)
    build/template.yaml      the final template (devstack.cfn); template.cfn.json: its translation
    build/sizes.json         each package's size, zipped and unzipped
    build/wheelhouse/        the downloaded wheels: later builds need no network

Dependencies are the project's own runtime dependencies (pyproject.toml) as manylinux wheels for
aarch64 and CPython 3.12. The first build downloads them from PyPI (`pip download`); every
later one installs from the wheelhouse with `--no-index`. `--no-deps` (the infra tests) builds
everything but the layer's third-party packages, fully offline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from devstack import cfn
from devstack.template import ROOT

SRC = ROOT / "src" / "ventas"
FUNCTIONS = ROOT / "functions"
PYTHON_VERSION = "3.12"  # the template's Runtime
# AL2023 (python3.12 runtime) has glibc 2.34: both wheel generations install there.
PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: unchanged code, unchanged package


def runtime_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"])


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    target = [arg for platform in PLATFORMS for arg in ("--platform", platform)] + ["--python-version", PYTHON_VERSION]
    command = [sys.executable, "-m", "pip", *args, *target, "--implementation", "cp", "--only-binary=:all:"]
    return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603


def install_dependencies(site: Path, wheelhouse: Path) -> None:
    requirements = runtime_requirements()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    install = ("install", "--quiet", "--no-compile", "--target", str(site), "--no-index")
    done = _pip(*install, "--find-links", str(wheelhouse), *requirements)
    if done.returncode != 0:  # not cached yet: the one step that needs PyPI
        fetched = _pip("download", "--quiet", "--dest", str(wheelhouse), *requirements)
        if fetched.returncode != 0:
            raise SystemExit(f"cannot download the Lambda wheels (is PyPI reachable?)\n{fetched.stderr}")
        done = _pip(*install, "--find-links", str(wheelhouse), *requirements)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    # The runtime never runs console scripts.
    shutil.rmtree(site / "bin", ignore_errors=True)


def _runtime_python() -> str | None:
    """An interpreter of the Lambda runtime's version (LAMBDA_PYTHON, PATH, pyenv), or None."""
    candidates = [os.environ.get("LAMBDA_PYTHON", ""), shutil.which(f"python{PYTHON_VERSION}") or ""]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}.*/bin/python3"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - a pyenv shim may exist without its version installed
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == PYTHON_VERSION:
            return candidate
    return None


def precompile(folder: Path) -> bool:
    """Bytecode for the runtime's Python, checked by hash only (zips carry fixed times), so a cold
    start does not compile every module: /opt is read-only and Python could not cache it there."""
    python = _runtime_python()
    if python is None:
        return False
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(folder)]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return True


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def _zip(folder: Path, archive: Path) -> None:
    """A reproducible zip: sorted entries, fixed times and modes."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


def _unzipped(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zf:
        return sum(i.file_size for i in zf.infolist())


def build(out: Path, with_dependencies: bool = True) -> dict[str, Any]:
    """Build every artifact and the final template under `out`; returns the sizes report."""
    for part in ("layer", "functions", "dist", "chalice"):
        shutil.rmtree(out / part, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    site = out / "layer" / "python"
    _copy_tree(SRC, site / "ventas")
    if with_dependencies:
        install_dependencies(site, out / "wheelhouse")
    compiled = precompile(out / "layer")
    _zip(out / "layer", out / "dist" / "layer.zip")

    source = cfn.source_template()
    names = {logical: cfn.function_dir(logical, spec) for logical, spec in cfn.functions(source).items()}
    for name in names.values():
        target = out / "functions" / name
        target.mkdir(parents=True)
        for module in (FUNCTIONS / name).glob("*.py"):
            shutil.copy2(module, target / module.name)
        precompile(target)
        _zip(target, out / "dist" / f"{name}.zip")

    template, api_zip = cfn.build_template(out, names)
    if api_zip is not None:
        shutil.copy2(api_zip, out / "dist" / "api.zip")
    (out / "template.cfn.json").write_text(json.dumps(cfn.translate(template), indent=1), encoding="utf-8")
    report = sizes(out, with_dependencies)
    report["bytecode"] = f"python{PYTHON_VERSION}" if compiled else None
    (out / "sizes.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


def sizes(out: Path, with_dependencies: bool) -> dict[str, Any]:
    dist = out / "dist"
    layer = {"zip": (dist / "layer.zip").stat().st_size, "unzipped": _unzipped(dist / "layer.zip")}
    report: dict[str, Any] = {"layer": layer, "layer_dependencies": with_dependencies, "functions": {}}
    for archive in sorted(dist.glob("*.zip")):
        if archive.stem != "layer":
            own = {"zip": archive.stat().st_size, "unzipped": _unzipped(archive)}
            # What Lambda counts against its 250 MB limit: the function and its layer, unzipped.
            own["with_layer_unzipped"] = own["unzipped"] + layer["unzipped"]
            report["functions"][archive.stem] = own
    (out / "sizes.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


def _size(size: int) -> str:
    return f"{size / 1_000_000:8.2f} MB" if size >= 1_000_000 else f"{size / 1000:8.1f} kB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--no-deps", action="store_true", help="leave third-party packages out of the layer")
    args = parser.parse_args(argv)
    report = build(args.out, with_dependencies=not args.no_deps)
    layer = report["layer"]
    print(f"{'layer':<13}{_size(layer['zip'])} zipped {_size(layer['unzipped'])} unzipped")
    for name, size in report["functions"].items():
        print(f"{name:<13}{_size(size['zip'])} zipped {_size(size['with_layer_unzipped'])} unzipped with the layer")
    if report["bytecode"] is None:
        print(f"note: no python{PYTHON_VERSION} here: the layer ships sources, compiled at every cold start")
    if not cfn.has_api():
        print("note: functions/api (the Chalice API) is not there yet: the template has no API Gateway")
    print(f"template   {args.out / 'template.yaml'} (translated: {args.out / 'template.cfn.json'})")


if __name__ == "__main__":
    main()
