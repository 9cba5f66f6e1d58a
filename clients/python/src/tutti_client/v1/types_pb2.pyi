from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Instrument(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUMENT_UNSPECIFIED: _ClassVar[Instrument]
    INSTRUMENT_PHQ9: _ClassVar[Instrument]
    INSTRUMENT_GAD7: _ClassVar[Instrument]
    INSTRUMENT_WHO5: _ClassVar[Instrument]
    INSTRUMENT_OQ45: _ClassVar[Instrument]
    INSTRUMENT_WELLBEING: _ClassVar[Instrument]
    INSTRUMENT_DISTRESS: _ClassVar[Instrument]

class RiskFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_FLAG_UNSPECIFIED: _ClassVar[RiskFlag]
    RISK_FLAG_SUICIDALITY: _ClassVar[RiskFlag]
    RISK_FLAG_SELF_HARM: _ClassVar[RiskFlag]
    RISK_FLAG_CRISIS_CONTACT: _ClassVar[RiskFlag]
    RISK_FLAG_PSYCHOSIS: _ClassVar[RiskFlag]
    RISK_FLAG_INTOXICATION: _ClassVar[RiskFlag]

class Condition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONDITION_UNSPECIFIED: _ClassVar[Condition]
    CONDITION_TRAUMA_HISTORY: _ClassVar[Condition]
    CONDITION_DISSOCIATION: _ClassVar[Condition]
    CONDITION_PSYCHOSIS_HISTORY: _ClassVar[Condition]
    CONDITION_BIPOLAR: _ClassVar[Condition]
    CONDITION_SEIZURES: _ClassVar[Condition]
    CONDITION_CARDIAC: _ClassVar[Condition]
    CONDITION_RESPIRATORY: _ClassVar[Condition]
    CONDITION_PREGNANCY: _ClassVar[Condition]
    CONDITION_UNSTABLE_MEDICAL: _ClassVar[Condition]
    CONDITION_DROWSY_DRIVING_RISK: _ClassVar[Condition]
    CONDITION_EXERCISE_RESTRICTION: _ClassVar[Condition]

class Modality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODALITY_UNSPECIFIED: _ClassVar[Modality]
    MODALITY_IN_SESSION: _ClassVar[Modality]
    MODALITY_BETWEEN_SESSIONS: _ClassVar[Modality]
    MODALITY_APP: _ClassVar[Modality]
INSTRUMENT_UNSPECIFIED: Instrument
INSTRUMENT_PHQ9: Instrument
INSTRUMENT_GAD7: Instrument
INSTRUMENT_WHO5: Instrument
INSTRUMENT_OQ45: Instrument
INSTRUMENT_WELLBEING: Instrument
INSTRUMENT_DISTRESS: Instrument
RISK_FLAG_UNSPECIFIED: RiskFlag
RISK_FLAG_SUICIDALITY: RiskFlag
RISK_FLAG_SELF_HARM: RiskFlag
RISK_FLAG_CRISIS_CONTACT: RiskFlag
RISK_FLAG_PSYCHOSIS: RiskFlag
RISK_FLAG_INTOXICATION: RiskFlag
CONDITION_UNSPECIFIED: Condition
CONDITION_TRAUMA_HISTORY: Condition
CONDITION_DISSOCIATION: Condition
CONDITION_PSYCHOSIS_HISTORY: Condition
CONDITION_BIPOLAR: Condition
CONDITION_SEIZURES: Condition
CONDITION_CARDIAC: Condition
CONDITION_RESPIRATORY: Condition
CONDITION_PREGNANCY: Condition
CONDITION_UNSTABLE_MEDICAL: Condition
CONDITION_DROWSY_DRIVING_RISK: Condition
CONDITION_EXERCISE_RESTRICTION: Condition
MODALITY_UNSPECIFIED: Modality
MODALITY_IN_SESSION: Modality
MODALITY_BETWEEN_SESSIONS: Modality
MODALITY_APP: Modality

class ProcessRating(_message.Message):
    __slots__ = ("process_id", "adaptive", "maladaptive")
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_FIELD_NUMBER: _ClassVar[int]
    MALADAPTIVE_FIELD_NUMBER: _ClassVar[int]
    process_id: str
    adaptive: float
    maladaptive: float
    def __init__(self, process_id: _Optional[str] = ..., adaptive: _Optional[float] = ..., maladaptive: _Optional[float] = ...) -> None: ...

class OutcomeMeasure(_message.Message):
    __slots__ = ("instrument", "score")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    instrument: Instrument
    score: float
    def __init__(self, instrument: _Optional[_Union[Instrument, str]] = ..., score: _Optional[float] = ...) -> None: ...

class Estimate(_message.Message):
    __slots__ = ("mean", "lower", "upper")
    MEAN_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    mean: float
    lower: float
    upper: float
    def __init__(self, mean: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ...) -> None: ...

class DataSufficiency(_message.Message):
    __slots__ = ("observations", "own_data_weight")
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    OWN_DATA_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    observations: int
    own_data_weight: float
    def __init__(self, observations: _Optional[int] = ..., own_data_weight: _Optional[float] = ...) -> None: ...
