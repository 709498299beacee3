"""An OpenADR 3.1 VTN on the aggregator (issue 15), mounted at `PREFIX` (`/openadr3/3.1.0`).

A grid operator's OpenADR 3 business-logic client creates programs and events; each capacity interval
of an event becomes a flexibility request through the same queue, dispatcher and chain as the native
`POST /requests`; after settlement a report per event says what was delivered. See docs/openadr.md.

- `models`: the specification's objects (pydantic, camelCase on the wire, server-set metadata);
- `timing`: ISO 8601 durations and the interval timing rules of the User Guide (pure);
- `mapping`: event intervals -> flexibility requests, settled requests -> report (pure);
- `objects`: the objects in the aggregator's database (`tables.OpenadrObject`, `OpenadrLink`);
- `tokens`, `auth`: OAuth2 client credentials (`GET /auth/server`, `POST /auth/token`) and roles;
- `vtn`: the event <-> request side (enqueue, modify, cancel, reports, lead-time refresh);
- `routes`, `problems`, `mount`: the HTTP side (Problem-shaped errors; `mount.install(app)`).
"""

PREFIX = "/openadr3/3.1.0"
