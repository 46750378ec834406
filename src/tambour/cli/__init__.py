"""The `tambour` command line. Each group lives in its own module; all call the same core."""

import typer

from tambour.cli import (
    advertiser_cmd,
    apikey_cmd,
    audit_cmd,
    calendar_cmd,
    campaign_cmd,
    complaints_cmd,
    contacts_cmd,
    db_cmd,
    demo_cmd,
    form_cmd,
    jobs_cmd,
    keys_cmd,
    links_cmd,
    optout_cmd,
    phone_cmd,
    proof_cmd,
    record_cmd,
    replies_cmd,
    requests_cmd,
    retention_cmd,
    serve_cmd,
    sms_cmd,
    smsc_cmd,
    user_cmd,
    webhook_cmd,
    worker_cmd,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Tambour: SMS/MMS marketing that cannot break the CNIL rules, and proves it.",
)
app.add_typer(sms_cmd.app, name="sms")
app.add_typer(calendar_cmd.app, name="calendar")
app.add_typer(phone_cmd.app, name="phone")
app.add_typer(db_cmd.app, name="db")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(advertiser_cmd.app, name="advertiser")
app.add_typer(contacts_cmd.app, name="contacts")
app.add_typer(optout_cmd.app, name="optout")
app.add_typer(requests_cmd.app, name="requests")
app.add_typer(retention_cmd.app, name="retention")
app.add_typer(complaints_cmd.app, name="complaints")
app.add_typer(form_cmd.app, name="form")
app.add_typer(replies_cmd.app, name="replies")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(campaign_cmd.app, name="campaign")
app.add_typer(smsc_cmd.app, name="smsc")
app.add_typer(apikey_cmd.app, name="apikey")
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(webhook_cmd.app, name="webhook")
app.add_typer(user_cmd.app, name="user")
app.add_typer(links_cmd.app, name="links")
app.command("demo")(demo_cmd.demo)
app.command("worker")(worker_cmd.worker)
app.command("proof")(proof_cmd.proof)
app.command("record")(record_cmd.record)
app.command("serve")(serve_cmd.serve)


@app.command()
def version() -> None:
    """Print the version."""
    from tambour import __version__

    typer.echo(__version__)


def main() -> None:
    app()
