"""`esimdesk ticket merge REF --into REF`: merge a ticket into another of the
same customer (app/workflow/merge.py). Prints the merged ticket's summary
(closed, "merged") with what moved, as JSON; a refusal is one line, exit 2."""

from __future__ import annotations

from app.cli.numbers import VERSION


def add_into_version(m) -> None:
    m.add_argument(
        "--into-version",
        type=VERSION,
        metavar="N",
        dest="into_version",
        help="the version of --into you read (optimistic lock)",
    )


def run(args, ctx) -> int:
    from app.cli.ticket_cmd import _run
    from app.workflow.merge import merge

    return _run(
        args,
        ctx,
        lambda s, a, now: merge(
            s,
            a,
            args.reference,
            args.into,
            expected_version=args.version,
            into_version=args.into_version,
            now=now,
            config=ctx.config,
        ).as_json(),
    )
