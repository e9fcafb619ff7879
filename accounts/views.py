"""HTML screens of accounts: the Book and the customer page (thin: permission, validate, one call, render)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def book(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/book.html", {})
