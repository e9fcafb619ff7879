from __future__ import annotations

from django.http import HttpResponse


def results(request):
    return HttpResponse("")


comments = campaign_new = campaign_detail = results
