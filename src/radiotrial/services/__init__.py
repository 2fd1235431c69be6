"""Use cases of the trial, shared by the CLI and the web app.

Each function takes a :class:`ServiceContext` (registry, protocol, vault, clock) and the acting
:class:`radiotrial.registry.Actor`, checks the actor's permission, and runs as one serialised
write transaction: the change, its milestones and its audit entries commit together or not at
all. The science and trial-design packages are called through thin adapters
(:func:`design_for`, which is :func:`radiotrial.escalation.design_from_protocol`;
:func:`evaluate_subject` and :func:`decide_eligibility` for :mod:`radiotrial.eligibility`,
:func:`propose_dlt`, :func:`adjudicate_dlt` and the CTCAE category for :mod:`radiotrial.safety`).
"""

from radiotrial.services._context import PORTAL, ServiceContext
from radiotrial.services._demo import DemoTrialSummary, demo_scenario, seed_demo_trial
from radiotrial.services._eligibility import (
    CriterionDecision,
    decide_eligibility,
    evaluate_record,
    evaluate_subject,
    record_patient_record,
    screening_checklist,
    sign_decisions,
)
from radiotrial.services._enrolment import (
    EnrolmentResult,
    design_for,
    dlt_outcome,
    enrol,
    escalation_state,
    trial_status,
)
from radiotrial.services._outbox import (
    DeliveryReport,
    OutboxEntry,
    QueuedMail,
    deliver_outbox,
    list_outbox,
    queue_mails,
)
from radiotrial.services._reports import export_data, subject_status, verify_audit
from radiotrial.services._requests import (
    REQUEST_CHOICES,
    REQUEST_CONSENTS,
    RequestReceipt,
    RequestSubmission,
    RequestView,
    file_request,
    list_requests,
    mark_request_handled,
    new_reference,
    request_detail,
    resolve_request_match,
    reveal_request_contact,
)
from radiotrial.services._retention import PurgeResult, erase_request_data, purge_prescreen
from radiotrial.services._safety import (
    ATTRIBUTIONS,
    adjudicate_dlt,
    propose_dlt,
    report_adverse_event,
    update_adverse_event,
)
from radiotrial.services._subjects import (
    CONSENT_KEYS,
    EvidenceItem,
    PrescreenReceipt,
    change_status,
    correct_identity,
    open_screening,
    record_evidence,
    register_prescreen,
    reveal_identity,
    take_forward,
)
from radiotrial.services._treatment import (
    AdministrationResult,
    record_administration,
    record_dosimetry,
    record_imaging,
)
from radiotrial.services._users import (
    Account,
    authenticate,
    change_password,
    change_role,
    create_user,
    current_account,
    deactivate_user,
    password_change_required,
    sign_in,
)

__all__ = [
    "ATTRIBUTIONS",
    "CONSENT_KEYS",
    "PORTAL",
    "REQUEST_CHOICES",
    "REQUEST_CONSENTS",
    "Account",
    "AdministrationResult",
    "CriterionDecision",
    "DeliveryReport",
    "DemoTrialSummary",
    "EnrolmentResult",
    "EvidenceItem",
    "OutboxEntry",
    "PrescreenReceipt",
    "PurgeResult",
    "QueuedMail",
    "RequestReceipt",
    "RequestSubmission",
    "RequestView",
    "ServiceContext",
    "adjudicate_dlt",
    "authenticate",
    "change_password",
    "change_role",
    "change_status",
    "correct_identity",
    "create_user",
    "current_account",
    "deactivate_user",
    "decide_eligibility",
    "deliver_outbox",
    "demo_scenario",
    "design_for",
    "dlt_outcome",
    "enrol",
    "erase_request_data",
    "escalation_state",
    "evaluate_record",
    "evaluate_subject",
    "export_data",
    "file_request",
    "list_outbox",
    "list_requests",
    "mark_request_handled",
    "new_reference",
    "open_screening",
    "password_change_required",
    "propose_dlt",
    "purge_prescreen",
    "queue_mails",
    "record_administration",
    "record_dosimetry",
    "record_evidence",
    "record_imaging",
    "record_patient_record",
    "register_prescreen",
    "report_adverse_event",
    "request_detail",
    "resolve_request_match",
    "reveal_identity",
    "reveal_request_contact",
    "screening_checklist",
    "seed_demo_trial",
    "sign_decisions",
    "sign_in",
    "subject_status",
    "take_forward",
    "trial_status",
    "update_adverse_event",
    "verify_audit",
]
