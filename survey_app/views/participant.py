"""Participant pages: study link, information and consent, eligibility, questionnaire pages, review and
submit, completion, save and resume, withdrawal. No account: the participant record is bound to the
browser session, and a resume code binds it again later."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from core import ratelimit
from survey_app.forms import ConsentForm, EligibilityForm, PageForm, ResumeForm, WithdrawForm
from survey_app.models import (
    DEFAULT_SUPPORT_TEXT,
    ItemKind,
    Participant,
    ParticipantStatus,
    Study,
    StudyStatus,
)
from survey_app.pseudonyms import keyed_pseudonym, resume_code_display
from survey_app.selectors import (
    answers_review,
    eligibility_page,
    page_items,
    participant_answers,
    study_criteria,
    study_public_get,
    survey_pages,
)
from survey_app.services.participants import (
    AlreadyTakingPart,
    AlreadyWithdrawn,
    Incomplete,
    InvalidLink,
    StudyUnavailable,
    WrongState,
    page_save,
    participant_consent,
    participant_decline,
    participant_eligibility,
    participant_resume,
    participant_return_prolific,
    participant_withdraw,
    prolific_pseudonyms,
    study_accepting_check,
    survey_submit,
)

SESSION_KEY = "survey"
PARTICIPANT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def _entries(request: HttpRequest) -> dict:
    return request.session.setdefault(SESSION_KEY, {})


def _entry(request: HttpRequest, study: Study) -> dict:
    return _entries(request).get(str(study.pk), {})


def _store(request: HttpRequest, study: Study, **values) -> None:
    entry = _entries(request).setdefault(str(study.pk), {})
    entry.update(values)
    request.session.modified = True


def _forget(request: HttpRequest, study: Study) -> None:
    _entries(request).pop(str(study.pk), None)
    request.session.modified = True


def _bind(request: HttpRequest, study: Study, participant: Participant, resume_code: str) -> None:
    """Bind a participant to this browser under a new session key. The session outlives the browser
    window (for SESSION_COOKIE_AGE), so closing the browser mid-survey and opening the study link again
    carries on where the participant left off; staff sessions keep ending with the browser."""
    request.session.cycle_key()
    if not request.user.is_authenticated:
        request.session.set_expiry(settings.SESSION_COOKIE_AGE)
    _store(request, study, participant=participant.pk, resume_code=resume_code, prolific=None)


def next_step_url(*, study: Study, participant: Participant) -> str:
    """Where a participant in a given state belongs; every page sends a participant elsewhere here."""
    status = ParticipantStatus
    if participant.status == status.IN_PROGRESS:
        total = len(survey_pages(instrument=participant.instrument))
        if participant.pages_done >= total:
            return reverse("survey-review", args=[study.slug])
        return reverse("survey-page", args=[study.slug, participant.pages_done + 1])
    name = {
        status.DECLINED: "survey-declined",
        status.CONSENTED: "survey-eligibility",
        status.SCREENED_OUT: "survey-screened-out",
        status.COMPLETED: "survey-complete",
        status.WITHDRAWN: "survey-withdrawn",
    }[participant.status]
    return reverse(name, args=[study.slug])


class ParticipantView(View):
    """Resolves the study (drafts and unknown slugs are a friendly 404) and the session's participant.

    `allowed` lists the participant states a page serves; anyone else is sent to their own next step.
    `None` means the page needs no participant at all.
    """

    allowed: tuple[str, ...] | None = None
    study: Study
    participant: Participant | None

    def dispatch(self, request, *args, **kwargs):
        try:
            self.study = study_public_get(slug=kwargs["slug"])
        except Study.DoesNotExist:
            return render_participant(request, "survey_app/participant/not_found.html", {}, status=404)
        participant_id = _entry(request, self.study).get("participant")
        self.participant = (
            Participant.objects.select_related("instrument", "consent")
            .filter(pk=participant_id, study=self.study)
            .first()
            if participant_id
            else None
        )
        if self.allowed is not None:
            if self.participant is None:
                return redirect("survey-entry", slug=self.study.slug)
            if self.participant.status not in self.allowed:
                return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        return super().dispatch(request, *args, **kwargs)

    def render(self, template: str, context: dict | None = None, status: int = 200) -> HttpResponse:
        entry = _entry(self.request, self.study)
        crisis_notice = entry.pop("crisis_notice", False)
        if crisis_notice:
            self.request.session.modified = True
        base = {
            "study": self.study,
            "participant": self.participant,
            "resume_code": entry.get("resume_code", ""),
            "crisis_notice": crisis_notice,
        }
        return render_participant(self.request, template, {**base, **(context or {})}, status=status)


def render_participant(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    context.setdefault(
        "support_text", context["study"].support_text if context.get("study") else DEFAULT_SUPPORT_TEXT
    )
    # The first line (the emergency numbers) is always in view; the rest opens on demand on small screens.
    headline, _, more = context["support_text"].strip().partition("\n")
    context.update(support_headline=headline, support_more=more.strip())
    response = render(request, template, context, status=status)
    for header, value in PARTICIPANT_HEADERS.items():
        response[header] = value
    return response


class EntryView(ParticipantView):
    """The study link: information sheet and consent. Prolific's parameters are turned into keyed
    pseudonyms at once and the browser is redirected to the clean link, so they never appear again."""

    template = "survey_app/participant/consent.html"

    def get(self, request, slug: str):
        if request.GET:
            try:
                pseudonyms = prolific_pseudonyms(params=request.GET)
            except InvalidLink as error:
                return self.render(
                    "survey_app/participant/unavailable.html", {"message": str(error)}, status=400
                )
            if pseudonyms:
                return self._prolific_arrival(pseudonyms)
            return redirect("survey-entry", slug=slug)
        if self.participant is not None:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        unavailable = self._unavailable()
        if unavailable:
            return unavailable
        return self.render(self.template, {"form": ConsentForm(agreement=self.study.consent.agreement)})

    def post(self, request, slug: str):
        if self.participant is not None:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        form = ConsentForm(request.POST, agreement=self.study.consent.agreement)
        if not form.is_valid():
            return self.render(self.template, {"form": form})
        prolific = _entry(request, self.study).get("prolific")
        if form.cleaned_data["decision"] == "decline":
            participant = participant_decline(study=self.study, prolific=prolific)
            _store(request, self.study, participant=participant.pk, prolific=None)
            return redirect("survey-declined", slug=slug)
        try:
            enrolment = participant_consent(study=self.study, prolific=prolific)
        except AlreadyTakingPart as error:
            return self.render(self.template, {"form": form, "already": str(error)})
        except StudyUnavailable:
            return self._unavailable()
        _bind(request, self.study, enrolment.participant, enrolment.resume_code)
        return redirect("survey-eligibility", slug=slug)

    def _prolific_arrival(self, pseudonyms: dict[str, str]) -> HttpResponse:
        """A Prolific participant who took part before carries on (or sees their code) without a resume
        code; a newcomer reads the information sheet. Another participant's session in this browser is
        dropped, so a shared computer never hands one person's survey to the next."""
        if self.participant is not None and self.participant.prolific_pid_pseudonym == pseudonyms["pid"]:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        try:
            enrolment = participant_return_prolific(study=self.study, prolific=pseudonyms)
        except (AlreadyTakingPart, AlreadyWithdrawn) as error:
            return self.render(
                "survey_app/participant/unavailable.html",
                {"message": str(error), "resume_offer": isinstance(error, AlreadyTakingPart)},
                status=409,
            )
        if enrolment is not None:
            _bind(self.request, self.study, enrolment.participant, enrolment.resume_code)
            return HttpResponseRedirect(next_step_url(study=self.study, participant=enrolment.participant))
        if self.participant is not None and self.participant.prolific_pid_pseudonym != pseudonyms["pid"]:
            _forget(self.request, self.study)
        _store(self.request, self.study, prolific=pseudonyms)
        return redirect("survey-entry", slug=self.study.slug)

    def _unavailable(self) -> HttpResponse | None:
        try:
            study_accepting_check(study=self.study)
        except StudyUnavailable as error:
            closed = self.study.status == StudyStatus.CLOSED
            return self.render(
                "survey_app/participant/unavailable.html",
                {"message": str(error)},
                status=410 if closed else 200,
            )
        return None


class EligibilityView(ParticipantView):
    allowed = (ParticipantStatus.CONSENTED,)
    template = "survey_app/participant/eligibility.html"

    def form(self, data=None) -> EligibilityForm:
        instrument = self.participant.instrument
        page = eligibility_page(instrument=instrument)
        return EligibilityForm(
            data,
            instrument=instrument,
            items=page_items(instrument=instrument, page_key=page["key"]),
            criteria=[],
        )

    def get(self, request, slug: str):
        return self.render(
            self.template,
            {"form": self.form(), "page": eligibility_page(instrument=self.participant.instrument)},
        )

    def post(self, request, slug: str):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render(
                self.template,
                {"form": form, "page": eligibility_page(instrument=self.participant.instrument)},
            )
        participant_eligibility(participant=self.participant, eligible=form.eligible())
        return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))


class SurveyPageMixin:
    def progress(self, number: int) -> dict:
        pages = survey_pages(instrument=self.participant.instrument)
        total = len(pages) + 1  # the review page is the last step
        return {"number": number, "total": total, "percent": round(100 * (number - 1) / total)}


class PageView(SurveyPageMixin, ParticipantView):
    """One questionnaire page. Continue validates strictly; Back and Save-and-finish-later save what was
    entered (if it is valid) without requiring the rest, so navigating never loses answers."""

    allowed = (ParticipantStatus.IN_PROGRESS,)
    template = "survey_app/participant/page.html"

    def _page(self, number: int) -> dict | None:
        pages = survey_pages(instrument=self.participant.instrument)
        if 1 <= number <= min(len(pages), self.participant.pages_done + 1):
            return pages[number - 1]
        return None

    def form(self, number: int, data=None, lenient: bool = False) -> PageForm:
        instrument = self.participant.instrument
        items = page_items(instrument=instrument, page_key=self._page(number)["key"])
        grids = any(item.kind in (ItemKind.IMPORTANCE, ItemKind.RANKING) for item in items)
        return PageForm(
            data,
            instrument=instrument,
            items=items,
            criteria=study_criteria(study=self.study) if grids else [],
            lenient=lenient,
            # A bound form shows what was posted; saved answers are only the initial values of a fresh page.
            answers=participant_answers(participant=self.participant) if data is None else None,
            order_seed=self.participant.pk,
        )

    def page_context(self, number: int, form: PageForm) -> dict:
        return {"form": form, "page": self._page(number), "progress": self.progress(number)}

    def get(self, request, slug: str, number: int):
        if self._page(number) is None:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        return self.render(self.template, self.page_context(number, self.form(number)))

    def post(self, request, slug: str, number: int):
        if self._page(number) is None:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        navigation = request.POST.get("nav", "next")
        form = self.form(number, request.POST, lenient=navigation in ("back", "save"))
        if not form.is_valid():
            return self.render(self.template, self.page_context(number, form))
        try:
            saved = page_save(
                participant=self.participant,
                page_number=number,
                answers=form.answers(),
                advance=navigation == "next",
            )
        except WrongState:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        if saved.crisis_language:
            _store(request, self.study, crisis_notice=True)
        if navigation == "back":
            return redirect("survey-page", slug=slug, number=max(number - 1, 1))
        if navigation == "save":
            return redirect("survey-saved", slug=slug)
        return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))


class ReviewView(SurveyPageMixin, ParticipantView):
    """Last step: every answer, page by page, with a link to change each page, and the idempotent final
    submit."""

    allowed = (ParticipantStatus.IN_PROGRESS, ParticipantStatus.COMPLETED)
    template = "survey_app/participant/review.html"

    def get(self, request, slug: str):
        if self.participant.status == ParticipantStatus.COMPLETED:
            return redirect("survey-complete", slug=slug)
        pages = survey_pages(instrument=self.participant.instrument)
        if self.participant.pages_done < len(pages):
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        return self.render(
            self.template,
            {
                "review": answers_review(participant=self.participant),
                "progress": self.progress(len(pages) + 1),
            },
        )

    def post(self, request, slug: str):
        if request.POST.get("nav") == "back" and self.participant.status == ParticipantStatus.IN_PROGRESS:
            return redirect(
                "survey-page", slug=slug, number=len(survey_pages(instrument=self.participant.instrument))
            )
        try:
            survey_submit(participant=self.participant)
        except Incomplete as missing:
            return redirect("survey-page", slug=slug, number=missing.page_number)
        except WrongState:
            return HttpResponseRedirect(next_step_url(study=self.study, participant=self.participant))
        return redirect("survey-complete", slug=slug)


class CompleteView(ParticipantView):
    allowed = (ParticipantStatus.COMPLETED,)

    def get(self, request, slug: str):
        return self.render("survey_app/participant/complete.html")


class DeclinedView(ParticipantView):
    allowed = (ParticipantStatus.DECLINED,)

    def get(self, request, slug: str):
        return self.render("survey_app/participant/declined.html")


class ScreenedOutView(ParticipantView):
    allowed = (ParticipantStatus.SCREENED_OUT,)

    def get(self, request, slug: str):
        return self.render("survey_app/participant/screened_out.html")


class SavedView(ParticipantView):
    allowed = (ParticipantStatus.IN_PROGRESS,)

    def get(self, request, slug: str):
        code = _entry(request, self.study).get("resume_code", "")
        link = (
            request.build_absolute_uri(reverse("survey-resume", args=[slug]))
            + "?"
            + urlencode({"code": code})
        )
        return self.render(
            "survey_app/participant/saved.html",
            {
                "resume_link": link,
                "continue_url": next_step_url(study=self.study, participant=self.participant),
            },
        )


class CodeAttemptsView(ParticipantView):
    """A page that takes a resume code. Codes are short secrets, so wrong ones are counted per client address
    (across studies and both pages); past SURVEY_CODE_ATTEMPTS_LIMIT in a window every try is answered 429
    until the window ends. Right codes are not counted."""

    scope = "survey-code"

    def _address_key(self) -> str:
        # Participants' addresses are never stored, not even in the cache: only a keyed pseudonym of one.
        return keyed_pseudonym(purpose="code-attempts", value=ratelimit.client_address(self.request))

    def post(self, request, slug: str):
        window_s = settings.SURVEY_CODE_ATTEMPTS_WINDOW_S
        if (
            ratelimit.hits(scope=self.scope, key=self._address_key(), window_s=window_s)
            >= settings.SURVEY_CODE_ATTEMPTS_LIMIT
        ):
            wait_s = ratelimit.window_seconds_left(window_s=window_s)
            response = self.render(
                "survey_app/participant/too_many_attempts.html",
                {"wait_minutes": -(-wait_s // 60)},
                status=429,
            )
            response["Retry-After"] = str(wait_s)
            return response
        return self.post_code(request, slug)

    def wrong_code(self, form) -> None:
        ratelimit.hit(
            scope=self.scope,
            key=self._address_key(),
            window_s=settings.SURVEY_CODE_ATTEMPTS_WINDOW_S,
        )
        form.add_error("code", "We could not find this code for this study. Check it and try again.")

    def post_code(self, request, slug: str) -> HttpResponse:
        raise NotImplementedError


class ResumeView(CodeAttemptsView):
    """Enter the resume code (or follow the resume link, which fills it in) to carry on in any browser."""

    template = "survey_app/participant/resume.html"

    def get(self, request, slug: str):
        return self.render(
            self.template, {"form": ResumeForm(initial={"code": request.GET.get("code", "")[:40]})}
        )

    def post_code(self, request, slug: str) -> HttpResponse:
        form = ResumeForm(request.POST)
        if form.is_valid():
            participant = participant_resume(study=self.study, code=form.cleaned_data["code"])
            if participant is not None:
                _bind(request, self.study, participant, resume_code_display(form.cleaned_data["code"]))
                return HttpResponseRedirect(next_step_url(study=self.study, participant=participant))
            self.wrong_code(form)
        return self.render(self.template, {"form": form})


class WithdrawView(CodeAttemptsView):
    template = "survey_app/participant/withdraw.html"

    def get(self, request, slug: str):
        return self.render(
            self.template,
            {"form": WithdrawForm(initial={"code": _entry(request, self.study).get("resume_code", "")})},
        )

    def post_code(self, request, slug: str) -> HttpResponse:
        form = WithdrawForm(request.POST)
        if form.is_valid():
            participant = participant_withdraw(study=self.study, code=form.cleaned_data["code"])
            if participant is not None:
                _forget(request, self.study)
                _store(request, self.study, participant=participant.pk)
                return redirect("survey-withdrawn", slug=slug)
            self.wrong_code(form)
        return self.render(self.template, {"form": form})


class WithdrawnView(ParticipantView):
    allowed = (ParticipantStatus.WITHDRAWN,)

    def get(self, request, slug: str):
        return self.render("survey_app/participant/withdrawn.html")
