"""The live console (R15): a web page that watches a run and drives its fleet.

A service between the simulation and the aggregator: it reads the aggregator through its HTTP API and
wire models (with the grid and admin credentials, which stay in this process), the chain through
`contracts` (events through `contracts.events`), and it changes the fleet through `controls.Controls`,
which the simulation implements with the same paths the scenario's own events use.
"""
