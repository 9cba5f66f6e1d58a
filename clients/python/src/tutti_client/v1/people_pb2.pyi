import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrackStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACK_STATUS_UNSPECIFIED: _ClassVar[TrackStatus]
    TRACK_STATUS_INSUFFICIENT_DATA: _ClassVar[TrackStatus]
    TRACK_STATUS_ON_TRACK: _ClassVar[TrackStatus]
    TRACK_STATUS_NOT_ON_TRACK: _ClassVar[TrackStatus]
TRACK_STATUS_UNSPECIFIED: TrackStatus
TRACK_STATUS_INSUFFICIENT_DATA: TrackStatus
TRACK_STATUS_ON_TRACK: TrackStatus
TRACK_STATUS_NOT_ON_TRACK: TrackStatus

class Person(_message.Message):
    __slots__ = ("name", "conditions", "create_time", "assessment_count", "feedback_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    conditions: _containers.RepeatedScalarFieldContainer[_types_pb2.Condition]
    create_time: _timestamp_pb2.Timestamp
    assessment_count: int
    feedback_count: int
    def __init__(self, name: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, str]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., assessment_count: _Optional[int] = ..., feedback_count: _Optional[int] = ...) -> None: ...

class Assessment(_message.Message):
    __slots__ = ("id", "observe_time", "ratings", "outcomes", "risk_flags")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVE_TIME_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    RISK_FLAGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    observe_time: _timestamp_pb2.Timestamp
    ratings: _containers.RepeatedCompositeFieldContainer[_types_pb2.ProcessRating]
    outcomes: _containers.RepeatedCompositeFieldContainer[_types_pb2.OutcomeMeasure]
    risk_flags: _containers.RepeatedScalarFieldContainer[_types_pb2.RiskFlag]
    def __init__(self, id: _Optional[str] = ..., observe_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ratings: _Optional[_Iterable[_Union[_types_pb2.ProcessRating, _Mapping]]] = ..., outcomes: _Optional[_Iterable[_Union[_types_pb2.OutcomeMeasure, _Mapping]]] = ..., risk_flags: _Optional[_Iterable[_Union[_types_pb2.RiskFlag, str]]] = ...) -> None: ...

class CreatePersonRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "conditions")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    conditions: _containers.RepeatedScalarFieldContainer[_types_pb2.Condition]
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, str]]] = ...) -> None: ...

class CreatePersonResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class GetPersonRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPersonResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class DeletePersonRequest(_message.Message):
    __slots__ = ("request_id", "name")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    name: str
    def __init__(self, request_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeletePersonResponse(_message.Message):
    __slots__ = ("erased_assessments", "erased_recommendations", "erased_feedback")
    ERASED_ASSESSMENTS_FIELD_NUMBER: _ClassVar[int]
    ERASED_RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    ERASED_FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    erased_assessments: int
    erased_recommendations: int
    erased_feedback: int
    def __init__(self, erased_assessments: _Optional[int] = ..., erased_recommendations: _Optional[int] = ..., erased_feedback: _Optional[int] = ...) -> None: ...

class RecordAssessmentRequest(_message.Message):
    __slots__ = ("request_id", "person", "assessment")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person: str
    assessment: Assessment
    def __init__(self, request_id: _Optional[str] = ..., person: _Optional[str] = ..., assessment: _Optional[_Union[Assessment, _Mapping]] = ...) -> None: ...

class RecordAssessmentResponse(_message.Message):
    __slots__ = ("assessment",)
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    assessment: Assessment
    def __init__(self, assessment: _Optional[_Union[Assessment, _Mapping]] = ...) -> None: ...

class BatchRecordAssessmentsRequest(_message.Message):
    __slots__ = ("request_id", "person", "assessments")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person: str
    assessments: _containers.RepeatedCompositeFieldContainer[Assessment]
    def __init__(self, request_id: _Optional[str] = ..., person: _Optional[str] = ..., assessments: _Optional[_Iterable[_Union[Assessment, _Mapping]]] = ...) -> None: ...

class BatchRecordAssessmentsResponse(_message.Message):
    __slots__ = ("recorded",)
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    def __init__(self, recorded: _Optional[int] = ...) -> None: ...

class ListAssessmentsRequest(_message.Message):
    __slots__ = ("person", "page_size", "page_token")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    person: str
    page_size: int
    page_token: str
    def __init__(self, person: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAssessmentsResponse(_message.Message):
    __slots__ = ("assessments", "next_page_token", "total_size")
    ASSESSMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    assessments: _containers.RepeatedCompositeFieldContainer[Assessment]
    next_page_token: str
    total_size: int
    def __init__(self, assessments: _Optional[_Iterable[_Union[Assessment, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class IngestFhirRequest(_message.Message):
    __slots__ = ("request_id", "person", "resource_json")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_JSON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person: str
    resource_json: str
    def __init__(self, request_id: _Optional[str] = ..., person: _Optional[str] = ..., resource_json: _Optional[str] = ...) -> None: ...

class IngestFhirResponse(_message.Message):
    __slots__ = ("assessments", "duplicates", "ignored", "risk_flags")
    ASSESSMENTS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    IGNORED_FIELD_NUMBER: _ClassVar[int]
    RISK_FLAGS_FIELD_NUMBER: _ClassVar[int]
    assessments: _containers.RepeatedCompositeFieldContainer[Assessment]
    duplicates: int
    ignored: int
    risk_flags: _containers.RepeatedScalarFieldContainer[_types_pb2.RiskFlag]
    def __init__(self, assessments: _Optional[_Iterable[_Union[Assessment, _Mapping]]] = ..., duplicates: _Optional[int] = ..., ignored: _Optional[int] = ..., risk_flags: _Optional[_Iterable[_Union[_types_pb2.RiskFlag, str]]] = ...) -> None: ...

class GetPersonInsightsRequest(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: str
    def __init__(self, person: _Optional[str] = ...) -> None: ...

class ProcessInsight(_message.Message):
    __slots__ = ("process_id", "adaptive_level", "maladaptive_level", "adaptive_trend", "maladaptive_trend", "adaptive_influence", "maladaptive_influence", "sufficiency", "drive", "correlation", "relative_value", "map_sufficiency")
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MALADAPTIVE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_TREND_FIELD_NUMBER: _ClassVar[int]
    MALADAPTIVE_TREND_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_INFLUENCE_FIELD_NUMBER: _ClassVar[int]
    MALADAPTIVE_INFLUENCE_FIELD_NUMBER: _ClassVar[int]
    SUFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    DRIVE_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAP_SUFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    process_id: str
    adaptive_level: float
    maladaptive_level: float
    adaptive_trend: float
    maladaptive_trend: float
    adaptive_influence: _types_pb2.Estimate
    maladaptive_influence: _types_pb2.Estimate
    sufficiency: _types_pb2.DataSufficiency
    drive: _types_pb2.Estimate
    correlation: float
    relative_value: _types_pb2.Estimate
    map_sufficiency: _types_pb2.DataSufficiency
    def __init__(self, process_id: _Optional[str] = ..., adaptive_level: _Optional[float] = ..., maladaptive_level: _Optional[float] = ..., adaptive_trend: _Optional[float] = ..., maladaptive_trend: _Optional[float] = ..., adaptive_influence: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., maladaptive_influence: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., sufficiency: _Optional[_Union[_types_pb2.DataSufficiency, _Mapping]] = ..., drive: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., correlation: _Optional[float] = ..., relative_value: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ..., map_sufficiency: _Optional[_Union[_types_pb2.DataSufficiency, _Mapping]] = ...) -> None: ...

class NetworkEdge(_message.Message):
    __slots__ = ("source", "target", "weight")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    weight: _types_pb2.Estimate
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ..., weight: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ...) -> None: ...

class TrackAssessment(_message.Message):
    __slots__ = ("status", "weeks_in_care", "expected_wellbeing", "observed_wellbeing", "suggested_steps")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WEEKS_IN_CARE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_WELLBEING_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_WELLBEING_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_STEPS_FIELD_NUMBER: _ClassVar[int]
    status: TrackStatus
    weeks_in_care: float
    expected_wellbeing: float
    observed_wellbeing: float
    suggested_steps: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[_Union[TrackStatus, str]] = ..., weeks_in_care: _Optional[float] = ..., expected_wellbeing: _Optional[float] = ..., observed_wellbeing: _Optional[float] = ..., suggested_steps: _Optional[_Iterable[str]] = ...) -> None: ...

class FollowThroughSummary(_message.Message):
    __slots__ = ("reported", "done", "partly", "probability")
    REPORTED_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    PARTLY_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    reported: int
    done: int
    partly: int
    probability: _types_pb2.Estimate
    def __init__(self, reported: _Optional[int] = ..., done: _Optional[int] = ..., partly: _Optional[int] = ..., probability: _Optional[_Union[_types_pb2.Estimate, _Mapping]] = ...) -> None: ...

class GetPersonInsightsResponse(_message.Message):
    __slots__ = ("person", "assessment_count", "processes", "edges", "track", "follow_through", "risk_active", "summary", "model_version")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    TRACK_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_THROUGH_FIELD_NUMBER: _ClassVar[int]
    RISK_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    person: str
    assessment_count: int
    processes: _containers.RepeatedCompositeFieldContainer[ProcessInsight]
    edges: _containers.RepeatedCompositeFieldContainer[NetworkEdge]
    track: TrackAssessment
    follow_through: FollowThroughSummary
    risk_active: bool
    summary: str
    model_version: str
    def __init__(self, person: _Optional[str] = ..., assessment_count: _Optional[int] = ..., processes: _Optional[_Iterable[_Union[ProcessInsight, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[NetworkEdge, _Mapping]]] = ..., track: _Optional[_Union[TrackAssessment, _Mapping]] = ..., follow_through: _Optional[_Union[FollowThroughSummary, _Mapping]] = ..., risk_active: _Optional[bool] = ..., summary: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...
