"""The `guide` command: parses options, calls the library, prints. No logic of its own."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

import typer

from guide import __version__
from guide.errors import GuideError, ImageError, InputError, OutputError

if TYPE_CHECKING:
    from guide.profile import Profile

app = typer.Typer(
    help="Composition guidance for full-body portraits, powered by BodyPix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

class Relight(str, Enum):
    """`guide.light.Relight`'s choices, repeated here: importing guide.light (numpy, OpenCV) would slow every
    command's start and `--help` by ~0.2 s (tests/test_light_cli.py checks the two agree)."""

    auto = "auto"
    on = "on"
    off = "off"


ModelOption = typer.Option(
    None,
    "--model",
    help="Variant name (see `guide models`), a TF.js model folder, a SavedModel folder or a hub handle.",
)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


# Exit codes, chosen here and nowhere else: 2 = the run could not start or could not write where asked
# (bad input, option, folder, model, profile), 1 = it stopped part-way or some photos failed.
EXIT_CODES: dict[type[GuideError], int] = {InputError: 2, OutputError: 2, ImageError: 1, GuideError: 1}


def exit_code_for(error: GuideError) -> int:
    """The exit code of a library error: that of its most specific type in EXIT_CODES."""
    return next(EXIT_CODES[t] for t in type(error).__mro__ if t in EXIT_CODES)


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"guide: error: {message}", err=True)
    raise typer.Exit(code)


def fail_on(error: GuideError) -> NoReturn:
    fail(error.message, exit_code_for(error))


def _load(model: str | None, runtime: str | None = None):  # type: ignore[no-untyped-def]
    _quiet_tensorflow()
    from guide.model.bodypix import load_model

    try:
        return load_model(model, runtime=runtime)
    except GuideError as exc:
        fail_on(exc)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"guide {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Composition guidance for full-body portraits, powered by BodyPix."""


def _flag(name: str, help: str) -> bool:
    """An on/off switch shown as a bare `--name` in --help (typer 0.29's rich help writes `<bool>` otherwise;
    it deprecates `is_flag`, and a bool option already takes no value)."""
    return typer.Option(False, name, help=help, metavar="")  # type: ignore[no-any-return]


@app.command()
def analyze(
    images: list[Path] = typer.Argument(..., help="Photos (or folders of photos) to analyze."),
    as_json: bool = _flag("--json", "Print one JSON object per image."),
    annotate: Optional[Path] = typer.Option(None, "--annotate", help="Write <stem>_annotated.jpg pictures here."),
    masks: Optional[Path] = typer.Option(None, "--masks", help="Write <stem>.png person masks (255/0) here."),
    instances: Optional[Path] = typer.Option(
        None, "--instances", metavar="DIR",
        help="Write <stem>_instances.png here: 0 = nobody, i+1 = people\\[i] of the JSON.",
    ),
    model: Optional[str] = ModelOption,
    resolution: Optional[float] = typer.Option(
        None, "--resolution", min=0.05, max=2.0, help="Internal resolution (fraction of the photo), one pass; default: ~800 px, then small people again on crops."
    ),
    threshold: float = typer.Option(0.7, "--threshold", min=0.01, max=0.99, help="Person probability cut-off."),
) -> None:
    """Find every person in each photo: body parts, keypoints, head top, chin and feet."""
    from guide.analyze import analyze_photo, summary_line, to_record, write_annotation, write_instances, write_mask
    from guide.images import check_output_folder, describe_outputs, pick_photos, read_photo

    paths, skipped = pick_photos(images)
    if not paths:  # exit 1, as for a folder holding no photos
        fail(f"nothing to do: skipped {describe_outputs(skipped)}; name such a file to analyse it anyway", 1)
    try:  # a folder that cannot take the pictures stops the run before any work, not after each photo
        for folder in (annotate, masks, instances):
            if folder is not None:
                check_output_folder(folder)
    except GuideError as exc:
        fail_on(exc)
    if skipped:
        typer.echo(f"guide: skipped {describe_outputs(skipped)}", err=True)
    bodypix = _load(model)
    failures = 0
    taken = {p.resolve() for p in paths}  # never write over an input, nor twice to one file
    for path in paths:
        try:
            photo = read_photo(path)
            analysis = analyze_photo(bodypix, photo, resolution, threshold)
        except GuideError as exc:
            failures += 1
            typer.echo(f"guide: error: {exc.message}", err=True)
            continue
        record = to_record(analysis, bodypix.name)
        # Each picture's path goes in the record (a second run writes <stem>_annotated-2.jpg: the user is told).
        for key, folder, write in (
            ("instances", instances, write_instances),
            ("mask", masks, write_mask),
            ("annotated", annotate, write_annotation),
        ):
            if folder is None:
                continue
            try:
                record[key] = str(write(folder, analysis, taken))
            except GuideError as exc:
                failures += 1
                typer.echo(f"guide: error: {exc.message}", err=True)
        typer.echo(json.dumps(record) if as_json else summary_line(record))
        sys.stdout.flush()
    if failures:
        raise typer.Exit(1)


@app.command("models")
def models_command(as_json: bool = _flag("--json", "Print JSON.")) -> None:
    """List the BodyPix variants and which are available locally."""
    from guide.model.registry import DEFAULT_VARIANT, list_variants

    rows = []
    for variant, local in list_variants():
        rows.append(
            {
                "name": variant.name,
                "architecture": variant.architecture,
                "multiplier": variant.multiplier,
                "output_stride": variant.output_stride,
                "quantization": variant.quantization,
                "default": variant.name == DEFAULT_VARIANT,
                "local": str(local) if local else None,
                "url": variant.url,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'variant':34} {'arch':12} {'mult':>4} {'stride':>6} {'quant':6}  local copy")
    for r in rows:
        mult = f"{r['multiplier']:.2f}" if r["multiplier"] else "-"
        mark = "*" if r["default"] else " "
        typer.echo(
            f"{mark}{r['name']:33} {r['architecture']:12} {mult:>4} {r['output_stride']:>6} "
            f"{r['quantization']:6}  {r['local'] or '-'}"
        )
    typer.echo("* default. Missing variants download on first use from the official URL.")


def _framing_table(profile: Profile) -> list[str]:
    """The learned framing, one line per orientation group and measurement."""
    return [f"  {orientation:9} {measure:13} {typical:>10} {spread:>9}  (n={n})"
            for orientation, measure, typical, spread, n in profile.summary_rows()]


def _check_sheet_path(sheet: Path) -> None:
    """Refuse a --sheet that can never be written before minutes of work, not after."""
    if sheet.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        fail(f"--sheet {sheet}: use a .png or .jpg file name", 2)
    try:
        if sheet.is_dir():
            fail(f"--sheet {sheet}: is a folder; give a file name such as {sheet / 'sheet.png'}", 2)
        folder = sheet.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            fail(f"--sheet {sheet}: {folder} is a file, not a folder", 2)
    except OSError as exc:  # a name too long, a folder we may not look into
        fail(f"--sheet {sheet}: {exc.strerror or exc}", 2)


@app.command()
def calibrate(
    folder: Path = typer.Argument(..., help="Folder of reference photos you like (searched recursively)."),
    name: str = typer.Option("default", "--name", help="Profile name (one per person photographed, say)."),
    as_json: bool = _flag("--json", "Print a machine-readable summary."),
    sheet: Optional[Path] = typer.Option(
        None, "--sheet", metavar="PATH",
        help="Write the contact sheet (.png or .jpg) here. Without --sheet: NAME_sheet.png beside the profile.",
    ),
    group: bool = _flag("--group", "Learn the framing of group photos: everyone from the highest head to the lowest feet."),
    model: Optional[str] = ModelOption,
) -> None:
    """Learn your favourite framing from reference photos and save it as a profile."""
    from guide import calibration as cal
    from guide.images import write_image_atomic
    from guide.overlay import contact_sheet, thumbnail
    from guide.profile import profile_slot, save_profile

    if sheet is not None:
        _check_sheet_path(sheet)
    try:
        slot = profile_slot(name)  # what is saved there now: another run's save is noticed, not replaced
        files = cal.reference_files(folder)
    except GuideError as exc:
        fail_on(exc)
    bodypix = _load(model)
    verdicts: list[cal.Verdict] = []
    tiles = []
    hide = not sys.stderr.isatty()  # a bar is for people watching, not for logs
    with typer.progressbar(length=len(files), label="Reading references", file=sys.stderr, hidden=hide) as bar:
        for verdict, analysis in cal.analyze_references(bodypix, files, folder, group=group):
            verdicts.append(verdict)
            if analysis is not None:
                ok = f"ok, {verdict.members} people" if group and verdict.accepted else "ok"
                caption = (ok if verdict.accepted else "skip: " + (verdict.reason or "")) + " " + Path(verdict.file).name
                tiles.append((thumbnail(analysis.photo.image, analysis.parse), caption, verdict.accepted))
            bar.update(1)

    accepted = [v for v in verdicts if v.accepted]
    profile = cal.build_profile(name, bodypix.name, verdicts, str(folder), group=group) if accepted else None
    try:
        path, kept = (save_profile(profile, slot=slot) if profile else (None, None))
    except GuideError as exc:
        fail(f"profile not saved: {exc.message}", 2)
    sheet_path = sheet or slot.path.with_name(f"{name}_sheet.png")
    written: Path | None = None
    sheet_error = None
    if tiles and profile:  # with no usable photo nothing is written
        try:
            write_image_atomic(sheet_path, contact_sheet(tiles))
            written = sheet_path
        except GuideError as exc:
            sheet_error = exc.message
    if as_json:
        typer.echo(json.dumps({
            "name": name,
            "profile": str(path) if path else None,
            "replaced": kept is not None,
            "kept": str(kept) if kept else None,
            "sheet": str(written) if written else None,
            "accepted": len(accepted),
            "photos": len(verdicts),
            "group": group,
            "groups": profile.to_dict()["groups"] if profile else {},
            "files": [cal.verdict_record(v) for v in verdicts],
        }, indent=2))
    else:
        width = max(len(v.file) for v in verdicts)
        for v in verdicts:
            typer.echo(f"  {v.file:<{width}}  {cal.describe(v)}")
        if profile:
            typer.echo("\nLearned framing (typical value ± spread, from the accepted photos):")
            for line in _framing_table(profile):
                typer.echo(line)
            verb = f"replaced the older profile (kept as {kept})" if kept else "saved"
            shown = f"contact sheet: {written}" if written else "no contact sheet"
            typer.echo(f"\n{len(accepted)} of {len(verdicts)} photos used; {verb}: {path}; {shown}")
    for orientation, n in (profile.thin_groups() if profile else {}).items():
        typer.echo(f"guide: note: {orientation} framing learnt from {n} photo{'s' if n > 1 else ''} only: "
                   f"{'its' if n == 1 else 'their'} framing is the target as it is; add more {orientation} "
                   "photos for a typical one", err=True)
    if not accepted:
        fail(f"no usable reference photo in {folder} ({len(verdicts)} read): no profile saved", 2)
    if sheet_error:
        fail(f"contact sheet not written: {sheet_error}", 1)


profiles_app = typer.Typer(help="List and show saved framing profiles.", invoke_without_command=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.callback()
def profiles_list(ctx: typer.Context, as_json: bool = _flag("--json", "Print JSON.")) -> None:
    """List saved profiles and the folder they are in (run `guide profiles show NAME` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from guide.profile import list_profiles, profiles_dir

    rows = list_profiles()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    where = profiles_dir().absolute()  # relative to the current folder unless GUIDE_PROFILE_DIR says otherwise
    if not rows:
        typer.echo(f"no profiles in {where} yet: run `guide calibrate DIR` (GUIDE_PROFILE_DIR sets the folder)")
        return
    typer.echo(f"profiles in {where} (GUIDE_PROFILE_DIR sets the folder):")
    for r in rows:
        if "error" in r:
            typer.echo(f"  {r['name']:20} unreadable: {r['error']}")
        else:
            used = ", ".join(f"{n} {g}" for g, n in r["accepted"].items())
            kind = "  group photos" if r["kind"] == "group" else ""
            typer.echo(f"  {r['name']:20} {r['created']}  {r['photos']} photos ({used} used)  model {r['model']}{kind}")


@profiles_app.command("show")
def profiles_show(
    name: str = typer.Argument(..., help="Profile name."),
    as_json: bool = _flag("--json", "Print the whole profile file as JSON."),
) -> None:
    """Show one profile: where it is, how it was made and the framing it learned."""
    from guide.profile import load_profile, profile_path

    try:
        profile = load_profile(name)
    except GuideError as exc:
        fail_on(exc)
    if as_json:
        typer.echo(json.dumps(profile.to_dict(), indent=2))
        return
    used, skipped = profile.photo_counts()
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
    typer.echo(f"profile {name}: {profile_path(name).absolute()}")
    typer.echo(f"  made {profile.created or '?'} with model {profile.model or '?'} from {profile.source or '?'}")
    typer.echo(f"  {profile.kind} framing; {used} photo{'s' if used != 1 else ''} used, {sum(skipped.values())} skipped"
               + (f" ({reasons})" if reasons else ""))
    typer.echo(f"\nLearned framing (typical value ± spread; frames of another shape use the {profile.primary} group):")
    for line in _framing_table(profile):
        typer.echo(line)


@app.command()
def live(
    camera: Optional[int] = typer.Option(None, "--camera", min=0, help="Camera index (default 0)."),
    source: Optional[Path] = typer.Option(None, "--source", help="A video file or image folder instead of a camera."),
    realtime: bool = typer.Option(False, "--realtime", help="Play --source in real time through the camera path."),
    width: Optional[int] = typer.Option(None, "--width", min=16, help="Camera frame width."),
    height: Optional[int] = typer.Option(None, "--height", min=16, help="Camera frame height."),
    fps: Optional[float] = typer.Option(None, "--fps", min=1, help="Camera frame rate."),
    mirror: bool = typer.Option(False, "--mirror", help="Mirror the camera picture (selfie view)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Framing profile (default: 'default', else built-in rules)."),
    window: bool = typer.Option(True, "--window/--no-window", help="Show the live window."),
    record: Optional[Path] = typer.Option(None, "--record", help="Write the overlaid video to this file (.mp4)."),
    log: Optional[Path] = typer.Option(None, "--log", help="Write one JSON line per processed frame to this file."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after this many frames."),
    auto_capture: bool = typer.Option(False, "--auto-capture", help="Capture after a countdown when the framing matches."),
    captures: Path = typer.Option(Path("captures"), "--captures", help="Folder for captured portraits."),
    group: bool = _flag("--group", "Guide a group photo: everyone's head and feet in, the group's size and place."),
    preview_portrait: bool = _flag(
        "--preview-portrait", "Show (and record) the background blurred as the capture will be; key B toggles it."
    ),
    resolution: float = typer.Option(
        0.5, "--resolution", min=0.1, max=1.0,
        help="Size of the whole-frame passes that find people, as a fraction of a 640x480 frame at any camera "
        "size (0.5: 321x241 model pixels); the subject is always seen on a crop at full detail.",
    ),
    strength: float = typer.Option(
        3.0, "--strength", min=0.1, max=15.0, help="Capture blur disc diameter, percent of the frame's long side."
    ),
    model: Optional[str] = ModelOption,
) -> None:
    """Live framing guidance from a camera (or a video): instructions, target box, auto-capture."""
    from guide.live import LiveOptions, LiveSession
    from guide.sinks import display_available
    from guide.profile import load_profile, profile_path, profiles_dir
    from guide.sources import open_source

    if camera is not None and source is not None:
        fail("--camera and --source are two different inputs: give one of them", 2)
    if window and not display_available():
        fail("no display to open a window on: use --no-window (with --record/--log to see the result)", 2)
    chosen = None
    try:
        chosen = load_profile(profile or "default")
        framing_note = f"guide: framing profile {profile_path(profile or 'default')}"
    except GuideError as exc:
        if profile is not None:
            fail_on(exc)
        if profile_path("default").exists():
            framing_note = f"guide: warning: {exc.message}; using the built-in framing rules"
        else:
            framing_note = f"guide: no profile 'default' in {profiles_dir().resolve()}; using the built-in framing rules"
    if chosen is not None and chosen.group != group:
        again = "with --group" if chosen.group else "without --group"
        message = (f"profile {profile_path(profile or 'default')} was learnt from {chosen.kind} photos: run "
                   f"`guide live` {again}, or calibrate a {'group' if group else 'single-person'} profile")
        if profile is not None:
            fail(message, 2)
        chosen, framing_note = None, f"guide: {message}; using the built-in {'group ' if group else ''}framing rules"
    bodypix = _load(model, runtime=os.environ.get("GUIDE_RUNTIME") or "auto")  # one frame size for minutes: TFLite
    options = LiveOptions(
        resolution=resolution, window=window, auto_capture=auto_capture, captures=captures,
        record=record, log=log, max_frames=max_frames, strength=strength, group=group,
        preview_portrait=preview_portrait,
    )
    try:
        frames = open_source(None if source else (camera or 0), source, width, height, fps, mirror, realtime)
        try:
            session = LiveSession(bodypix, frames, chosen, options)
        except GuideError:
            frames.close()
            raise
        typer.echo(framing_note, err=True)  # once input and outputs are checked: bad input stays one line
        summary = session.run()
    except GuideError as exc:
        fail_on(exc)
    for reason in getattr(frames, "skipped", []):  # an image folder's unreadable photos
        typer.echo(f"guide: skipped {reason}", err=True)
    saved = f"; {len(summary.captures)} captures in {captures}" if summary.captures else ""
    typer.echo(f"{summary.frames} frames, {summary.processed} analysed{saved}", err=True)
    if auto_capture and not summary.captures and summary.frames:  # say why, or the user waits for a file
        why = (f"the run ended during the countdown, {summary.countdown_left:.2f} s before the capture" if summary.countdown_left is not None
               else f"the framing never matched for {options.hold_seconds:g} s in a row (then a "
                    f"{options.countdown_seconds:g} s countdown)")
        typer.echo(f"guide: no auto-capture: {why}", err=True)


@app.command("export")
def export_command(
    directory: Path = typer.Argument(..., help="Folder to write the SavedModel into (must not exist)."),
    model: Optional[str] = ModelOption,
) -> None:
    """Convert a BodyPix model to a SavedModel once, for faster loading with --model DIR."""
    from guide.model.bodypix import export_saved_model

    if directory.exists():
        fail(f"{directory} already exists; choose a new folder", 2)
    bodypix = _load(model)
    try:
        export_saved_model(bodypix, directory)
    except GuideError as exc:
        fail_on(exc)
    typer.echo(f"wrote {directory} (load it with --model {directory})")


@app.command("portrait")
def portrait_command(
    images: list[Path] = typer.Argument(..., help="Photos (or folders of photos) to render."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write <stem>_portrait.jpg here (created); default: beside each photo."),
    strength: float = typer.Option(
        3.0, "--strength", min=0.1, max=15.0, help="Blur disc diameter, percent of the photo's long side."
    ),
    background: Optional[Path] = typer.Option(
        None, "--background", help="Replace the background with this picture (fitted, not stretched) instead of blurring."
    ),
    mask_out: Optional[Path] = typer.Option(None, "--mask-out", help="Write <stem>_matte.png soft alpha mattes (0-255) here."),
    force: bool = _flag("--force", "Write a fully blurred photo even when no person is found."),
    relight: Relight = typer.Option(
        "auto", "--relight", case_sensitive=False,
        help="Lift a dark subject through the matte: auto (only when backlit), on (when darker than well lit), off.",
    ),
    model: Optional[str] = ModelOption,
) -> None:
    """Portrait mode: every person sharp, the background blurred as a fast lens blurs it (or replaced)."""
    from guide.images import check_output_folder, describe_outputs, pick_photos
    from guide.portrait import portrait_photo, read_background

    paths, skipped = pick_photos(images)
    if not paths:  # exit 1, as for a folder holding no photos; nothing created, not even --out
        fail(f"nothing to do: skipped {describe_outputs(skipped)}; name such a file to render it anyway", 1)
    back = None
    try:
        for folder in (out, mask_out):
            if folder is not None:
                check_output_folder(folder)
        if background is not None:
            back = read_background(background)
    except GuideError as exc:
        fail_on(exc)
    if skipped:
        typer.echo(f"guide: skipped {describe_outputs(skipped)}", err=True)
    bodypix = _load(model)
    failures = 0
    hide = len(paths) < 2 or not sys.stderr.isatty()
    with typer.progressbar(paths, label="portrait", file=sys.stderr, hidden=hide) as bar:
        for path in bar:
            try:
                result = portrait_photo(bodypix, path, out, strength, back, mask_out, force, relight=relight.value)
            except GuideError as exc:
                failures += 1
                typer.echo(f"guide: error: {exc.message}", err=True)
                continue
            people = f"{result.people} {'person' if result.people == 1 else 'people'}"
            lifted = "; backlit: the subject was lifted (--relight off keeps them as shot)" if result.lifted else ""
            typer.echo(f"{result.output}  ({people}{lifted})")
    if failures:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point: usage mistakes become one `guide: error:` line and exit code 2."""
    # typer exports BadParameter but not its base, the usage-error type of the click
    # (or click copy) it runs on; every usage mistake is one of those.
    usage_error: Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:
        message = exc.format_message().strip()
        if message:  # empty when the help was shown because no arguments were given
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            typer.echo(f"guide: error: {message}{hint}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("guide: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
