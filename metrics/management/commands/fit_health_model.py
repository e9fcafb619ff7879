"""`manage.py fit_health_model --from D --to D [--seed 0] [--activate] [--json]`: fit a health model's weights
and anchors to this install's history (docs/health.md#fitting) and print the proposal beside the current
model. Only `--activate` writes: it saves the proposal as the next version."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from metrics.health.fitting import FitError, FitResult, fit_health_model
from metrics.health.services import health_model_create
from metrics.models import HealthModel


class Command(BaseCommand):
    help = (
        "Fit the health model's weights and anchors to the churn in the MRR ledger (reads unless --activate)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="first as-of day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", required=True, help="last as-of day (YYYY-MM-DD)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds")
        parser.add_argument("--activate", action="store_true", help="save the proposal as a new version")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the result as JSON")

    def handle(self, *args, start, end, seed, activate, as_json, **options):
        start, end = _date(start), _date(end)
        if end < start:
            raise CommandError("--to must not be before --from.")
        try:
            result = fit_health_model(start=start, end=end, seed=seed)
        except FitError as exc:
            raise CommandError(str(exc)) from exc
        current = HealthModel.objects.prefetch_related("factors").current()
        saved = None
        if activate:
            config = result.config
            saved = health_model_create(
                factors=result.factors_for_create(),
                green=Decimal(str(config.green)),
                yellow=Decimal(str(config.yellow)),
                margin=Decimal(str(config.margin)),
                note=f"Fitted on {start.isoformat()}\u2013{end.isoformat()}",
            )
        if as_json:
            data = result.as_dict()
            data["saved_version"] = saved.version if saved else None
            self.stdout.write(json.dumps(data, indent=2))
        else:
            self.stdout.write(render(result, current))
            if saved:
                self.stdout.write(f"\nSaved as version {saved.version}.")
            else:
                self.stdout.write("\nNothing saved (use --activate to save the proposal as a new version).")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


NONE = "\u2013"


def _num(value: float | None, places: int = 3) -> str:
    return NONE if value is None else f"{value:.{places}f}"


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{100 * value:.1f} %"


def render(result: FitResult, current: HealthModel | None) -> str:
    now = {f.key: f for f in current.factors.all()} if current else {}
    lines = [
        f"Health model fit on as-of dates {result.start} to {result.end}, "
        f"churn within {result.horizon} days, seed {result.seed}",
        f"rows {result.rows} (customers {result.customers}), churned rows {result.churned_rows} "
        f"(customers {result.churned_customers}); C = {result.c:g}",
        "",
        f"{'factor':<22}{'current':>8}{'anchors':>20}{'fitted':>8}{'anchors':>20}{'coverage':>10}  note",
    ]
    for f in result.factors:
        c = now.get(f.key)
        cur_w = f"{float(c.weight):g}" if c and c.enabled else "off"
        cur_a = f"{c.bad:g} \u2192 {c.good:g}" if c else NONE
        fit_a = f"{f.bad:g} \u2192 {f.good:g}" if f.bad is not None else NONE
        lines.append(
            f"{f.key:<22}{cur_w:>8}{cur_a:>20}{f.weight:>8}{fit_a:>20}{_pct(f.coverage):>10}  {f.dropped}"
        )
    cur, new = result.current, result.proposed
    lines += [
        "",
        f"plain logistic regression, grouped CV AUC {_num(result.cv_auc)} (pooled out-of-fold "
        f"{_num(result.cv_auc_pooled)})",
        f"{'backtest':<22}{'AUC':>8}{'early warning':>16}{'alarm rate':>12}",
        f"{f'current (v{cur.version})':<22}{_num(cur.auc):>8}{_pct(cur.early_warning_share):>16}"
        f"{_pct(cur.alarm_rate):>12}",
        f"{'fitted':<22}{_num(new.auc):>8}{_pct(new.early_warning_share):>16}{_pct(new.alarm_rate):>12}",
        "",
        *result.notes,
    ]
    return "\n".join(lines)
