import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import catalog_pb2 as _catalog_pb2
from . import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Setting(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SETTING_UNSPECIFIED: _ClassVar[Setting]
    SETTING_IN_SESSION: _ClassVar[Setting]
    SETTING_BETWEEN_SESSIONS: _ClassVar[Setting]
    SETTING_APP: _ClassVar[Setting]

class Completion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPLETION_UNSPECIFIED: _ClassVar[Completion]
    COMPLETION_DONE: _ClassVar[Completion]
    COMPLETION_PARTLY: _ClassVar[Completion]
    COMPLETION_NOT_DONE: _ClassVar[Completion]

class ClinicianDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLINICIAN_DECISION_UNSPECIFIED: _ClassVar[ClinicianDecision]
    CLINICIAN_DECISION_ACCEPTED: _ClassVar[ClinicianDecision]
    CLINICIAN_DECISION_OVERRIDDEN: _ClassVar[ClinicianDecision]
    CLINICIAN_DECISION_REJECTED: _ClassVar[ClinicianDecision]
SETTING_UNSPECIFIED: Setting
SETTING_IN_SESSION: Setting
SETTING_BETWEEN_SESSIONS: Setting
SETTING_APP: Setting
COMPLETION_UNSPECIFIED: Completion
COMPLETION_DONE: Completion
COMPLETION_PARTLY: Completion
COMPLETION_NOT_DONE: Completion
CLINICIAN_DECISION_UNSPECIFIED: ClinicianDecision
CLINICIAN_DECISION_ACCEPTED: ClinicianDecision
CLINICIAN_DECISION_OVERRIDDEN: ClinicianDecision
CLINICIAN_DECISION_REJECTED: ClinicianDecision

class RecommendationContext(_message.Message):
    __slots__ = ("minutes_available", "setting", "capacity")
    MINUTES_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    SETTING_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    minutes_available: int
    setting: Setting
    capacity: float
    def __init__(self, minutes_available: _Optional[int] = ..., setting: _Optional[_Union[Setting, str]] = ..., capacity: _Optional[float] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("request_id", "person", "max_results", "context", "exclude_intervention_ids", "pinned_intervention_ids", "request_time", "platform_intervention_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_INTERVENTION_IDS_FIELD_NUMBER: _ClassVar[int]
    PINNED_INTERVENTION_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_INTERVENTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person: str
    max_results: int
    context: RecommendationContext
    exclude_intervention_ids: _containers.RepeatedScalarFieldContainer[str]
    pinned_intervention_ids: _containers.RepeatedScalarFieldContainer[str]
    request_time: _timestamp_pb2.Timestamp
    platform_intervention_id: str
    def __init__(self, request_id: _Optional[str] = ..., person: _Optional[str] = ..., max_results: _Optional[int] = ..., context: _Optional[_Union[RecommendationContext, _Mapping]] = ..., exclude_intervention_ids: _Optional[_Iterable[str]] = ..., pinned_intervention_ids: _Optional[_Iterable[str]] = ..., request_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., platform_intervention_id: _Optional[str] = ...) -> None: ...

class Rationale(_message.Message):
    __slots__ = ("targets", "times_recommended", "times_done", "mean_helpfulness", "evidence", "builds_on_strength", "exploratory", "sufficiency")
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TIMES_RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    TIMES_DONE_FIELD_NUMBER: _ClassVar[int]
    MEAN_HELPFULNESS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    BUILDS_ON_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    EXPLORATORY_FIELD_NUMBER: _ClassVar[int]
    SUFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[TargetRationale]
    times_recommended: int
    times_done: int
    mean_helpfulness: float
    evidence: str
    builds_on_strength: bool
    exploratory: bool
    sufficiency: _types_pb2.DataSufficiency
    def __init__(self, targets: _Optional[_Iterable[_Union[TargetRationale, _Mapping]]] = ..., times_recommended: _Optional[int] = ..., times_done: _Optional[int] = ..., mean_helpfulness: _Optional[float] = ..., evidence: _Optional[str] = ..., builds_on_strength: _Optional[bool] = ..., exploratory: _Optional[bool] = ..., sufficiency: _Optional[_Union[_types_pb2.DataSufficiency, _Mapping]] = ...) -> None: ...

class TargetRationale(_message.Message):
    __slots__ = ("process_id", "weight", "influence", "adaptive_level", "maladaptive_level", "headroom")
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    INFLUENCE_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MALADAPTIVE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FIELD_NUMBER: _ClassVar[int]
    process_id: str
    weight: float
    influence: _types_pb2.Estimate
    adaptive_level: float
    maladaptive_level: float
    headroom: float
    def __init__(self, process_id: _Optional[str] = ..., weight: _Optional[float] = ..., influence: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., adaptive_level: _Optional[float] = ..., maladaptive_level: _Optional[float] = ..., headroom: _Optional[float] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("recommendation_id", "rank", "intervention", "score", "expected_benefit", "follow_through", "targeted_process_ids", "rationale", "summary", "propensity", "pinned", "requires_clinician_review")
    RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_BENEFIT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_THROUGH_FIELD_NUMBER: _ClassVar[int]
    TARGETED_PROCESS_IDS_FIELD_NUMBER: _ClassVar[int]
    RATIONALE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_CLINICIAN_REVIEW_FIELD_NUMBER: _ClassVar[int]
    recommendation_id: str
    rank: int
    intervention: _catalog_pb2.Intervention
    score: float
    expected_benefit: _types_pb2.Estimate
    follow_through: _types_pb2.Estimate
    targeted_process_ids: _containers.RepeatedScalarFieldContainer[str]
    rationale: Rationale
    summary: str
    propensity: float
    pinned: bool
    requires_clinician_review: bool
    def __init__(self, recommendation_id: _Optional[str] = ..., rank: _Optional[int] = ..., intervention: _Optional[_Union[_catalog_pb2.Intervention, _Mapping]] = ..., score: _Optional[float] = ..., expected_benefit: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., follow_through: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., targeted_process_ids: _Optional[_Iterable[str]] = ..., rationale: _Optional[_Union[Rationale, _Mapping]] = ..., summary: _Optional[str] = ..., propensity: _Optional[float] = ..., pinned: _Optional[bool] = ..., requires_clinician_review: _Optional[bool] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("decision_id", "recommendations", "top_items_indistinguishable", "safety_mode", "exploration", "model_version", "note", "decide_time", "shadow", "platform_recommendation_id")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    TOP_ITEMS_INDISTINGUISHABLE_FIELD_NUMBER: _ClassVar[int]
    SAFETY_MODE_FIELD_NUMBER: _ClassVar[int]
    EXPLORATION_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    top_items_indistinguishable: bool
    safety_mode: bool
    exploration: float
    model_version: str
    note: str
    decide_time: _timestamp_pb2.Timestamp
    shadow: bool
    platform_recommendation_id: str
    def __init__(self, decision_id: _Optional[str] = ..., recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., top_items_indistinguishable: _Optional[bool] = ..., safety_mode: _Optional[bool] = ..., exploration: _Optional[float] = ..., model_version: _Optional[str] = ..., note: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shadow: _Optional[bool] = ..., platform_recommendation_id: _Optional[str] = ...) -> None: ...

class ClinicianReview(_message.Message):
    __slots__ = ("decision", "reason", "replacement_intervention_id")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_INTERVENTION_ID_FIELD_NUMBER: _ClassVar[int]
    decision: ClinicianDecision
    reason: str
    replacement_intervention_id: str
    def __init__(self, decision: _Optional[_Union[ClinicianDecision, str]] = ..., reason: _Optional[str] = ..., replacement_intervention_id: _Optional[str] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ("id", "recommendation_id", "completion", "minutes_spent", "helpfulness", "distress_before", "distress_after", "barrier", "post_ratings", "clinician", "observe_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    MINUTES_SPENT_FIELD_NUMBER: _ClassVar[int]
    HELPFULNESS_FIELD_NUMBER: _ClassVar[int]
    DISTRESS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    DISTRESS_AFTER_FIELD_NUMBER: _ClassVar[int]
    BARRIER_FIELD_NUMBER: _ClassVar[int]
    POST_RATINGS_FIELD_NUMBER: _ClassVar[int]
    CLINICIAN_FIELD_NUMBER: _ClassVar[int]
    OBSERVE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    recommendation_id: str
    completion: Completion
    minutes_spent: int
    helpfulness: float
    distress_before: float
    distress_after: float
    barrier: str
    post_ratings: _containers.RepeatedCompositeFieldContainer[_types_pb2.ProcessRating]
    clinician: ClinicianReview
    observe_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., recommendation_id: _Optional[str] = ..., completion: _Optional[_Union[Completion, str]] = ..., minutes_spent: _Optional[int] = ..., helpfulness: _Optional[float] = ..., distress_before: _Optional[float] = ..., distress_after: _Optional[float] = ..., barrier: _Optional[str] = ..., post_ratings: _Optional[_Iterable[_Union[_types_pb2.ProcessRating, _Mapping]]] = ..., clinician: _Optional[_Union[ClinicianReview, _Mapping]] = ..., observe_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordFeedbackRequest(_message.Message):
    __slots__ = ("request_id", "feedback")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    feedback: Feedback
    def __init__(self, request_id: _Optional[str] = ..., feedback: _Optional[_Union[Feedback, _Mapping]] = ...) -> None: ...

class RecordFeedbackResponse(_message.Message):
    __slots__ = ("feedback",)
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    feedback: Feedback
    def __init__(self, feedback: _Optional[_Union[Feedback, _Mapping]] = ...) -> None: ...
