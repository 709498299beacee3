# mypy: ignore-errors
"""Runs INSIDE the side virtual environment of `scripts/openadr3-client-venv.sh` (Python >= 3.12), with
the ElaadNL `openadr3-client` as the grid operator's business-logic client. Not imported by flexsim.

    python oa3_client_script.py create VTN_URL CLIENT_ID SECRET KW1 KW2   prints {"program": id, "event": id}
    python oa3_client_script.py reports VTN_URL CLIENT_ID SECRET EVENT_ID prints the event's reports

The token URL is found through GET /auth/server (token_url=None); the token is fetched with client
credentials sent as HTTP Basic (oauthlib needs OAUTHLIB_INSECURE_TRANSPORT=1 on plain http).
"""

import json
import sys
from datetime import UTC, datetime, timedelta

from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.version import OADRVersion


def bl_client(url: str, client_id: str, secret: str):
    return BusinessLogicHttpClientFactory.create_http_bl_client(
        vtn_base_url=url,
        client_id=client_id,
        client_secret=secret,
        token_url=None,
        allow_insecure_http=True,
        version=OADRVersion.OADR_310,
    )


def create(url: str, client_id: str, secret: str, *kw: str) -> dict:
    from openadr3_client._models.common.interval import Interval
    from openadr3_client._models.common.interval_period import IntervalPeriod
    from openadr3_client.oadr310.models.event.event import NewEvent
    from openadr3_client.oadr310.models.event.event_payload import (
        EventPayload,
        EventPayloadDescriptor,
        EventPayloadType,
    )
    from openadr3_client.oadr310.models.program.program import NewProgram
    from openadr3_client.oadr310.models.unit import Unit

    bl = bl_client(url, client_id, secret)
    program = bl.programs.create_program(new_program=NewProgram(program_name="flexsim capacity"))
    now = datetime(1, 1, 1, tzinfo=UTC)  # the specification's 'now': the intervals follow each other
    event = NewEvent(
        programID=program.id,
        event_name="two capacity limits",
        payload_descriptors=(
            EventPayloadDescriptor(payload_type=EventPayloadType.IMPORT_CAPACITY_LIMIT, units=Unit.KW),
        ),
        interval_period=IntervalPeriod(start=now, duration=timedelta(minutes=15)),
        intervals=tuple(
            Interval(
                id=i,
                payloads=(EventPayload(type=EventPayloadType.IMPORT_CAPACITY_LIMIT, values=(float(v),)),),
            )
            for i, v in enumerate(kw)
        ),
    )
    created = bl.events.create_event(new_event=event)
    again = bl.events.get_event_by_id(created.id)
    return {
        "program": program.id,
        "event": created.id,
        "intervals": len(again.intervals or ()),
        "created": created.created_date_time.isoformat(),
        "python": sys.version.split()[0],
    }


def reports(url: str, client_id: str, secret: str, event_id: str) -> list:
    bl = bl_client(url, client_id, secret)
    found = bl.reports.get_reports(pagination=None, program_id=None, event_id=event_id, client_name=None)
    return [r.model_dump(mode="json", by_alias=True) for r in found]


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    result = create(*args) if command == "create" else reports(*args)
    print(json.dumps(result))
