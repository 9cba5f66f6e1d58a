from google.protobuf import field_mask_pb2 as _field_mask_pb2
from . import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Process(_message.Message):
    __slots__ = ("id", "display_name", "dimension", "adaptive_pole", "maladaptive_pole", "scale_min", "scale_max", "prior_adaptive_mean", "prior_maladaptive_mean", "min_observations")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_POLE_FIELD_NUMBER: _ClassVar[int]
    MALADAPTIVE_POLE_FIELD_NUMBER: _ClassVar[int]
    SCALE_MIN_FIELD_NUMBER: _ClassVar[int]
    SCALE_MAX_FIELD_NUMBER: _ClassVar[int]
    PRIOR_ADAPTIVE_MEAN_FIELD_NUMBER: _ClassVar[int]
    PRIOR_MALADAPTIVE_MEAN_FIELD_NUMBER: _ClassVar[int]
    MIN_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    dimension: str
    adaptive_pole: str
    maladaptive_pole: str
    scale_min: float
    scale_max: float
    prior_adaptive_mean: float
    prior_maladaptive_mean: float
    min_observations: int
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., dimension: _Optional[str] = ..., adaptive_pole: _Optional[str] = ..., maladaptive_pole: _Optional[str] = ..., scale_min: _Optional[float] = ..., scale_max: _Optional[float] = ..., prior_adaptive_mean: _Optional[float] = ..., prior_maladaptive_mean: _Optional[float] = ..., min_observations: _Optional[int] = ...) -> None: ...

class ProcessTarget(_message.Message):
    __slots__ = ("process_id", "weight")
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    process_id: str
    weight: float
    def __init__(self, process_id: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class Intervention(_message.Message):
    __slots__ = ("id", "display_name", "family", "instructions", "targets", "effort_minutes", "modality", "requires_clinician", "contraindications", "min_days_between", "evidence", "prior_effect", "built_in")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    EFFORT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_CLINICIAN_FIELD_NUMBER: _ClassVar[int]
    CONTRAINDICATIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_DAYS_BETWEEN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    PRIOR_EFFECT_FIELD_NUMBER: _ClassVar[int]
    BUILT_IN_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    family: str
    instructions: str
    targets: _containers.RepeatedCompositeFieldContainer[ProcessTarget]
    effort_minutes: int
    modality: _types_pb2.Modality
    requires_clinician: bool
    contraindications: _containers.RepeatedScalarFieldContainer[_types_pb2.Condition]
    min_days_between: int
    evidence: str
    prior_effect: float
    built_in: bool
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., family: _Optional[str] = ..., instructions: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[ProcessTarget, _Mapping]]] = ..., effort_minutes: _Optional[int] = ..., modality: _Optional[_Union[_types_pb2.Modality, str]] = ..., requires_clinician: _Optional[bool] = ..., contraindications: _Optional[_Iterable[_Union[_types_pb2.Condition, str]]] = ..., min_days_between: _Optional[int] = ..., evidence: _Optional[str] = ..., prior_effect: _Optional[float] = ..., built_in: _Optional[bool] = ...) -> None: ...

class ListProcessesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProcessesResponse(_message.Message):
    __slots__ = ("processes",)
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    processes: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, processes: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class ListInterventionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "process_id", "modality", "max_minutes")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    MAX_MINUTES_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    process_id: str
    modality: _types_pb2.Modality
    max_minutes: int
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., process_id: _Optional[str] = ..., modality: _Optional[_Union[_types_pb2.Modality, str]] = ..., max_minutes: _Optional[int] = ...) -> None: ...

class ListInterventionsResponse(_message.Message):
    __slots__ = ("interventions", "next_page_token", "total_size")
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    interventions: _containers.RepeatedCompositeFieldContainer[Intervention]
    next_page_token: str
    total_size: int
    def __init__(self, interventions: _Optional[_Iterable[_Union[Intervention, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetInterventionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetInterventionResponse(_message.Message):
    __slots__ = ("intervention",)
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    intervention: Intervention
    def __init__(self, intervention: _Optional[_Union[Intervention, _Mapping]] = ...) -> None: ...

class CreateInterventionRequest(_message.Message):
    __slots__ = ("request_id", "intervention")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    intervention: Intervention
    def __init__(self, request_id: _Optional[str] = ..., intervention: _Optional[_Union[Intervention, _Mapping]] = ...) -> None: ...

class CreateInterventionResponse(_message.Message):
    __slots__ = ("intervention",)
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    intervention: Intervention
    def __init__(self, intervention: _Optional[_Union[Intervention, _Mapping]] = ...) -> None: ...

class UpdateInterventionRequest(_message.Message):
    __slots__ = ("request_id", "intervention", "update_mask")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    intervention: Intervention
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, request_id: _Optional[str] = ..., intervention: _Optional[_Union[Intervention, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateInterventionResponse(_message.Message):
    __slots__ = ("intervention",)
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    intervention: Intervention
    def __init__(self, intervention: _Optional[_Union[Intervention, _Mapping]] = ...) -> None: ...
