"""The `ava-harness` command line. Thin: parses options, calls the library, prints results.
A user's mistake (HarnessError) prints one line on stderr and exits non-zero, no traceback.

One module per command group: models.py (models, quantize), evaluate.py (eval), signoff.py
(deploy-test, lab), virtual.py (virtual-device), doctor.py (doctor); options shared by the sign-off commands live in
options.py."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from harness.cli import doctor, evaluate, models, report, signoff, tune, virtual
from harness.cli.output import out, print_error, set_verbosity
from harness.errors import HarnessError


class _Typer(typer.Typer):
    """Every way the command line can refuse to run ends the same way: one `error:` line on stderr
    and the exit code of its kind (2 for a usage error, Typer's own included), never a traceback."""

    def __call__(self, *args, **kwargs):
        try:
            kwargs.setdefault("prog_name", "ava-harness")  # `python -m harness.cli.app` too: usage, completion
            result = super().__call__(*args, standalone_mode=False, **kwargs)
        except HarnessError as err:
            print_error(err)
            sys.exit(err.exit_code)
        except typer.TyperException as err:  # Typer's parsing errors: a bad choice, a missing argument
            if type(err).__name__ == "NoArgsIsHelpError":  # as Typer tells it apart: the help is the message
                err.show()
            else:
                print_error(err.format_message())
            sys.exit(err.exit_code)
        except typer.Abort:
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


app = _Typer(
    help="Quantize, validate, deploy and sign off AVA's on-device ONNX embedding models.\n\n"
    "Typical flow: `ava-harness models build`, `ava-harness quantize-all models/originals --mode int8`, "
    "`ava-harness eval AVA-ONX-384-BASE-INT8`, then `make deploy-test DEVICE=<serial>`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("ava-harness")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown"
        out.print(f"ava-harness {number}", markup=False, highlight=False)
        raise typer.Exit(0)


@app.callback()
def _common(
    show_version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Results and errors only: no progress lines or bars.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Debug lines on stderr: configuration, adb commands, stages and their timings."
        ),
    ] = False,
) -> None:
    set_verbosity(quiet=quiet, verbose=verbose)


models_app = typer.Typer(help="Build and list the registered models.", no_args_is_help=True)
models_app.command("build")(models.models_build)
models_app.command("list")(models.models_list)
app.add_typer(models_app, name="models")
app.command("quantize")(models.quantize)
app.command("quantize-all")(models.quantize_all)
app.command("eval")(evaluate.eval_command)
app.command("deploy-test")(signoff.deploy_test_command)
app.command("lab")(signoff.lab_command)
app.command("doctor")(doctor.doctor_command)
app.command("sensitivity")(tune.sensitivity_command)
app.command("tune")(tune.tune_command)

vd_app = typer.Typer(
    help="Virtual Android devices that speak the adb wire protocol (no phone needed).", no_args_is_help=True
)
vd_app.command("start")(virtual.vd_start)
vd_app.command("stop")(virtual.vd_stop)
vd_app.command("list")(virtual.vd_list)
app.add_typer(vd_app, name="virtual-device")
report_app = typer.Typer(help="Read runs back: what changed between two, the history of all.", no_args_is_help=True)
report_app.command("diff")(report.diff_command)
report_app.command("history")(report.history_command)
app.add_typer(report_app, name="report")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
