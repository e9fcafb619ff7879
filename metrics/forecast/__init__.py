"""The renewals forecast (docs/renewals.md): categories and expected ARR per renewal, outcomes entered in the
app, the quarter's forecast per CSM, forecast accuracy and the weekly snapshots of categories.

- quarters: calendar quarters ("2027-Q1") as the forecast reads them
- selectors: the quarter's figures (per CSM and in all), the renewals behind each, accuracy, weekly mix
- services: set a renewal's forecast, record its outcome (and the MRR ledger change)
- snapshots: the weekly snapshot of every forecast
"""
