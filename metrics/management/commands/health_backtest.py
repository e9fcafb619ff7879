"""`manage.py health_backtest --from D --to D [--horizons 30,60,90] [--model N] [--lead 30] [--json]`: how
well a health model version predicts churn on this install's history (docs/health.md#backtest). Reads only."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from metrics.health.backtest import (
    DEFAULT_LEAD,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    BacktestReport,
    run_backtest,
)


class Command(BaseCommand):
    help = "Backtest a health model version against the churn in the MRR ledger (reads only)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="first as-of day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", required=True, help="last as-of day (YYYY-MM-DD)")
        parser.add_argument("--horizons", default="30,60,90", help="days, comma-separated (default 30,60,90)")
        parser.add_argument("--model", type=int, help="model version (default: the one in force)")
        parser.add_argument("--lead", type=int, default=DEFAULT_LEAD, help="early-warning lead in days")
        parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap resamples")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="bootstrap seed")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the report as JSON")

    def handle(self, *args, start, end, horizons, model, lead, resamples, seed, as_json, **options):
        start, end = _date(start), _date(end)
        if end < start:
            raise CommandError("--to must not be before --from.")
        try:
            days = sorted({int(h) for h in horizons.split(",") if h.strip()})
        except ValueError as exc:
            raise CommandError(f"{horizons!r} is not a list of days (e.g. 30,60,90).") from exc
        if not days or days[0] < 1 or lead < 1 or resamples < 0:
            raise CommandError("Horizons and --lead must be at least 1 day, --resamples at least 0.")
        try:
            report = run_backtest(
                start=start,
                end=end,
                horizons=days,
                model_version=model,
                lead=lead,
                resamples=resamples,
                seed=seed,
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(_dumps(report.as_dict()))
        else:
            self.stdout.write(render(report))


def _dumps(data) -> str:
    return json.dumps(data, indent=2)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


NONE = "\u2013"  # an en dash for "no value"


def _num(value: float | None, places: int = 3) -> str:
    return NONE if value is None else f"{value:.{places}f}"


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{100 * value:.1f} %"


def render(report: BacktestReport) -> str:
    """The report as plain-text tables."""
    lines = [
        f"Health backtest, model v{report.model_version}: as-of dates {report.start} to {report.end} "
        f"({len(report.as_of_dates)} month starts), ledger data until {report.ledger_until or '-'}",
        f"Bootstrap: {report.resamples} resamples of customers, seed {report.seed}",
    ]
    for h in report.horizons:
        ci = f"[{_num(h.auc_ci[0])}, {_num(h.auc_ci[1])}]" if h.auc_ci else NONE
        lines += [
            "",
            f"== Horizon {h.horizon} days",
            f"rows {h.rows} (customers {h.customers}), churned rows {h.churned_rows} "
            f"(customers {h.churned_customers}), scored rows {h.scored_rows}, "
            f"rows past the ledger data {h.rows_beyond_data}",
            f"AUC {_num(h.auc)}  95 % CI {ci}",
            f"lift red/green {_num(h.lift_red, 2)}  red+yellow/green {_num(h.lift_red_yellow, 2)}",
            f"not enough data: {_pct(h.not_enough_data_share)} of rows, "
            f"churn {_pct(h.not_enough_data_churn_rate)}",
            "",
            f"{'band':<8}{'rows':>8}{'churned':>9}{'churn':>10}",
        ]
        lines += [f"{b:<8}{r.rows:>8}{r.churned:>9}{_pct(r.churn_rate):>10}" for b, r in h.bands.items()]
        lines += ["", f"{'decile':<8}{'rows':>6}{'scores':>14}{'mean':>8}{'churned':>9}{'churn':>10}"]
        lines += [
            f"{c.decile:<8}{c.count:>6}{f'{c.min_score:g}-{c.max_score:g}':>14}{c.mean_score:>8.1f}"
            f"{c.churned:>9}{_pct(c.churn_rate):>10}"
            for c in h.calibration
        ]
        lines += ["", f"{'factor':<22}{'coverage':>10}{'AUC':>8}"]
        lines += [f"{f.factor:<22}{_pct(f.coverage):>10}{_num(f.auc):>8}" for f in h.factors]
    ew = report.early_warning
    lines += [
        "",
        f"== Early warning ({ew.lead_days} days before the churn date, "
        f"churns {ew.window_start} to {ew.window_end})",
        f"churners {ew.churners}, warned (red or yellow) {ew.warned}: {_pct(ew.share)}; "
        f"not paying then {ew.not_paying}, not enough data then {ew.unscored}; "
        f"warned of those paying then: {_pct(ew.share_of_paying)}",
        f"alarm rate (red or yellow among {ew.scored_rows} scored rows): {_pct(ew.alarm_rate)}",
    ]
    return "\n".join(lines)
