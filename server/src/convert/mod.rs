//! Conversions between `tutti.v1` wire types and the engine's domain types, in
//! both directions, plus the server's id newtypes ([`ids`]) and page tokens
//! ([`page`]).
//!
//! Conversions into the domain are `TryFrom` and assume the request already went
//! through [`crate::validate`]; they still fail cleanly (never panic) on values
//! validation should have caught, so a gap there becomes `INVALID_ARGUMENT`, not
//! a crash. Conversions out of the domain are infallible.

pub mod ids;
pub mod page;

use prost_types::Timestamp as PbTimestamp;
use tutti_engine::catalog::{self, Condition, Modality};
use tutti_engine::ids::{InterventionId, ProcessId, Timestamp};
use tutti_engine::insights::{self, Insights};
use tutti_engine::observe::{
    self, ClinicianDecision, Completion, Context, Instrument, Outcome, Rating, RiskFlag, Setting,
};
use tutti_engine::rank::{Interval, RankedItem, Sufficiency};
use tutti_proto::v1 as pb;

/// A wire value that has no domain counterpart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConvertError {
    /// Field path relative to the converted message.
    pub field: String,
    /// Why it cannot be converted.
    pub reason: &'static str,
}

impl ConvertError {
    fn new(field: impl Into<String>, reason: &'static str) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

type Result<T> = std::result::Result<T, ConvertError>;

/// Wire to domain, for values that already passed [`crate::validate`]. (A local
/// trait: the orphan rule forbids `TryFrom` between two foreign crates' types.)
pub trait FromWire<W>: Sized {
    /// Converts, failing on values validation should have rejected.
    fn from_wire(wire: &W) -> Result<Self>;
}

/// Domain to wire.
pub trait ToWire {
    /// The wire message.
    type Wire;
    /// Converts.
    fn to_wire(&self) -> Self::Wire;
}

/// Lowercase hex of bytes (digests on the wire, in config and in storage).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
}

// ---------------------------------------------------------------- time

/// The wall clock as a domain timestamp (milliseconds since the epoch).
/// The server's one way to read the time; the engine never does.
pub fn wall_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}

/// Milliseconds since the epoch from a protobuf timestamp. Rejects times before
/// 1970 and out-of-range nanos.
pub fn timestamp_from_pb(ts: &PbTimestamp, field: &str) -> Result<Timestamp> {
    if ts.seconds < 0 {
        return Err(ConvertError::new(field, "must not be before 1970"));
    }
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(ConvertError::new(field, "nanos must be in [0, 999999999]"));
    }
    let ms = ts
        .seconds
        .checked_mul(1000)
        .and_then(|s| s.checked_add(i64::from(ts.nanos / 1_000_000)))
        .ok_or_else(|| ConvertError::new(field, "is out of range"))?;
    Ok(Timestamp(ms))
}

/// A protobuf timestamp from milliseconds since the epoch.
pub fn timestamp_to_pb(t: Timestamp) -> PbTimestamp {
    PbTimestamp {
        seconds: t.0.div_euclid(1000),
        // The remainder is in 0..1000, so the product fits in i32.
        nanos: (t.0.rem_euclid(1000) * 1_000_000) as i32,
    }
}

// ---------------------------------------------------------------- enums

/// `tutti.v1.Instrument` to the engine's instrument.
pub fn instrument_from_pb(v: i32, field: &str) -> Result<Instrument> {
    match pb::Instrument::try_from(v) {
        Ok(pb::Instrument::Phq9) => Ok(Instrument::Phq9),
        Ok(pb::Instrument::Gad7) => Ok(Instrument::Gad7),
        Ok(pb::Instrument::Who5) => Ok(Instrument::Who5),
        Ok(pb::Instrument::Oq45) => Ok(Instrument::Oq45),
        Ok(pb::Instrument::Wellbeing) => Ok(Instrument::Wellbeing),
        Ok(pb::Instrument::Distress) => Ok(Instrument::Distress),
        Ok(pb::Instrument::Unspecified) => Err(ConvertError::new(field, "must be set")),
        Err(_) => Err(ConvertError::new(field, "is not a known instrument")),
    }
}

/// The engine's instrument on the wire.
pub fn instrument_to_pb(i: Instrument) -> pb::Instrument {
    match i {
        Instrument::Phq9 => pb::Instrument::Phq9,
        Instrument::Gad7 => pb::Instrument::Gad7,
        Instrument::Who5 => pb::Instrument::Who5,
        Instrument::Oq45 => pb::Instrument::Oq45,
        Instrument::Wellbeing => pb::Instrument::Wellbeing,
        Instrument::Distress => pb::Instrument::Distress,
    }
}

/// `tutti.v1.RiskFlag` to the engine's risk flag.
pub fn risk_flag_from_pb(v: i32, field: &str) -> Result<RiskFlag> {
    match pb::RiskFlag::try_from(v) {
        Ok(pb::RiskFlag::Suicidality) => Ok(RiskFlag::Suicidality),
        Ok(pb::RiskFlag::SelfHarm) => Ok(RiskFlag::SelfHarm),
        Ok(pb::RiskFlag::CrisisContact) => Ok(RiskFlag::CrisisContact),
        Ok(pb::RiskFlag::Psychosis) => Ok(RiskFlag::Psychosis),
        Ok(pb::RiskFlag::Intoxication) => Ok(RiskFlag::Intoxication),
        Ok(pb::RiskFlag::Unspecified) => Err(ConvertError::new(field, "must be set")),
        Err(_) => Err(ConvertError::new(field, "is not a known risk flag")),
    }
}

/// The engine's risk flag on the wire.
pub fn risk_flag_to_pb(f: RiskFlag) -> pb::RiskFlag {
    match f {
        RiskFlag::Suicidality => pb::RiskFlag::Suicidality,
        RiskFlag::SelfHarm => pb::RiskFlag::SelfHarm,
        RiskFlag::CrisisContact => pb::RiskFlag::CrisisContact,
        RiskFlag::Psychosis => pb::RiskFlag::Psychosis,
        RiskFlag::Intoxication => pb::RiskFlag::Intoxication,
    }
}

/// `tutti.v1.Condition` (a standing condition) to the engine's condition.
pub fn condition_from_pb(v: i32, field: &str) -> Result<Condition> {
    match pb::Condition::try_from(v) {
        Ok(pb::Condition::TraumaHistory) => Ok(Condition::TraumaHistory),
        Ok(pb::Condition::Dissociation) => Ok(Condition::Dissociation),
        Ok(pb::Condition::PsychosisHistory) => Ok(Condition::PsychosisHistory),
        Ok(pb::Condition::Bipolar) => Ok(Condition::Bipolar),
        Ok(pb::Condition::Seizures) => Ok(Condition::Seizures),
        Ok(pb::Condition::Cardiac) => Ok(Condition::Cardiac),
        Ok(pb::Condition::Respiratory) => Ok(Condition::Respiratory),
        Ok(pb::Condition::Pregnancy) => Ok(Condition::Pregnancy),
        Ok(pb::Condition::UnstableMedical) => Ok(Condition::UnstableMedical),
        Ok(pb::Condition::DrowsyDrivingRisk) => Ok(Condition::DrowsyDrivingRisk),
        Ok(pb::Condition::ExerciseRestriction) => Ok(Condition::ExerciseRestriction),
        Ok(pb::Condition::Unspecified) => Err(ConvertError::new(field, "must be set")),
        Err(_) => Err(ConvertError::new(field, "is not a known condition")),
    }
}

/// The engine's condition on the wire. The acute conditions the engine derives
/// from risk flags have no wire form (they are reported as risk flags).
pub fn condition_to_pb(c: Condition) -> Option<pb::Condition> {
    Some(match c {
        Condition::TraumaHistory => pb::Condition::TraumaHistory,
        Condition::Dissociation => pb::Condition::Dissociation,
        Condition::PsychosisHistory => pb::Condition::PsychosisHistory,
        Condition::Bipolar => pb::Condition::Bipolar,
        Condition::Seizures => pb::Condition::Seizures,
        Condition::Cardiac => pb::Condition::Cardiac,
        Condition::Respiratory => pb::Condition::Respiratory,
        Condition::Pregnancy => pb::Condition::Pregnancy,
        Condition::UnstableMedical => pb::Condition::UnstableMedical,
        Condition::DrowsyDrivingRisk => pb::Condition::DrowsyDrivingRisk,
        Condition::ExerciseRestriction => pb::Condition::ExerciseRestriction,
        Condition::AcuteSuicidality | Condition::ActivePsychosis | Condition::Intoxication => {
            return None;
        }
    })
}

/// A modality filter or field: `None` for UNSPECIFIED.
pub fn modality_from_pb(v: i32, field: &str) -> Result<Option<Modality>> {
    match pb::Modality::try_from(v) {
        Ok(pb::Modality::Unspecified) => Ok(None),
        Ok(pb::Modality::InSession) => Ok(Some(Modality::InSession)),
        Ok(pb::Modality::BetweenSessions) => Ok(Some(Modality::BetweenSessions)),
        Ok(pb::Modality::App) => Ok(Some(Modality::App)),
        Err(_) => Err(ConvertError::new(field, "is not a known modality")),
    }
}

/// The engine's modality on the wire.
pub fn modality_to_pb(m: Modality) -> pb::Modality {
    match m {
        Modality::InSession => pb::Modality::InSession,
        Modality::BetweenSessions => pb::Modality::BetweenSessions,
        Modality::App => pb::Modality::App,
    }
}

/// A setting: `None` for UNSPECIFIED (any setting).
pub fn setting_from_pb(v: i32, field: &str) -> Result<Option<Setting>> {
    match pb::Setting::try_from(v) {
        Ok(pb::Setting::Unspecified) => Ok(None),
        Ok(pb::Setting::InSession) => Ok(Some(Setting::InSession)),
        Ok(pb::Setting::BetweenSessions) => Ok(Some(Setting::BetweenSessions)),
        Ok(pb::Setting::App) => Ok(Some(Setting::App)),
        Err(_) => Err(ConvertError::new(field, "is not a known setting")),
    }
}

/// The engine's setting on the wire (`None`: UNSPECIFIED, any setting).
pub fn setting_to_pb(s: Option<Setting>) -> pb::Setting {
    match s {
        None => pb::Setting::Unspecified,
        Some(Setting::InSession) => pb::Setting::InSession,
        Some(Setting::BetweenSessions) => pb::Setting::BetweenSessions,
        Some(Setting::App) => pb::Setting::App,
    }
}

/// The engine's completion on the wire (`None`: UNSPECIFIED, not reported).
pub fn completion_to_pb(c: Option<Completion>) -> pb::Completion {
    match c {
        None => pb::Completion::Unspecified,
        Some(Completion::Done) => pb::Completion::Done,
        Some(Completion::Partly) => pb::Completion::Partly,
        Some(Completion::NotDone) => pb::Completion::NotDone,
    }
}

/// A completion: `None` for UNSPECIFIED (not reported).
pub fn completion_from_pb(v: i32, field: &str) -> Result<Option<Completion>> {
    match pb::Completion::try_from(v) {
        Ok(pb::Completion::Unspecified) => Ok(None),
        Ok(pb::Completion::Done) => Ok(Some(Completion::Done)),
        Ok(pb::Completion::Partly) => Ok(Some(Completion::Partly)),
        Ok(pb::Completion::NotDone) => Ok(Some(Completion::NotDone)),
        Err(_) => Err(ConvertError::new(field, "is not a known completion")),
    }
}

/// The clinician's review as the engine sees it.
pub fn clinician_from_pb(r: &pb::ClinicianReview, field: &str) -> Result<ClinicianDecision> {
    match pb::ClinicianDecision::try_from(r.decision) {
        Ok(pb::ClinicianDecision::Accepted) => Ok(ClinicianDecision::Accepted),
        Ok(pb::ClinicianDecision::Rejected) => Ok(ClinicianDecision::Rejected),
        Ok(pb::ClinicianDecision::Overridden) => Ok(ClinicianDecision::Overridden {
            replacement: (!r.replacement_intervention_id.is_empty())
                .then(|| InterventionId::from(r.replacement_intervention_id.as_str())),
        }),
        Ok(pb::ClinicianDecision::Unspecified) => Err(ConvertError::new(
            format!("{field}.decision"),
            "must be set",
        )),
        Err(_) => Err(ConvertError::new(
            format!("{field}.decision"),
            "is not a known decision",
        )),
    }
}

fn track_status_to_pb(s: insights::TrackStatus) -> pb::TrackStatus {
    match s {
        insights::TrackStatus::InsufficientData => pb::TrackStatus::InsufficientData,
        insights::TrackStatus::OnTrack => pb::TrackStatus::OnTrack,
        insights::TrackStatus::NotOnTrack => pb::TrackStatus::NotOnTrack,
    }
}

/// Standing conditions from the wire (deduplicated, sorted).
pub fn conditions_from_pb(values: &[i32], field: &str) -> Result<Vec<Condition>> {
    let mut out = values
        .iter()
        .enumerate()
        .map(|(i, &v)| condition_from_pb(v, &format!("{field}[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Standing conditions on the wire.
pub fn conditions_to_pb(conditions: &[Condition]) -> Vec<i32> {
    conditions
        .iter()
        .filter_map(|&c| condition_to_pb(c))
        .map(|c| c as i32)
        .collect()
}

// ---------------------------------------------------------------- observations

impl FromWire<pb::ProcessRating> for Rating {
    fn from_wire(r: &pb::ProcessRating) -> Result<Self> {
        if r.adaptive.is_none() && r.maladaptive.is_none() {
            return Err(ConvertError::new("", "needs at least one pole"));
        }
        Ok(Rating {
            process: ProcessId::from(r.process_id.as_str()),
            adaptive: r.adaptive,
            maladaptive: r.maladaptive,
        })
    }
}

impl ToWire for Rating {
    type Wire = pb::ProcessRating;
    fn to_wire(&self) -> pb::ProcessRating {
        let r = self;
        pb::ProcessRating {
            process_id: r.process.to_string(),
            adaptive: r.adaptive,
            maladaptive: r.maladaptive,
        }
    }
}

impl FromWire<pb::OutcomeMeasure> for Outcome {
    fn from_wire(o: &pb::OutcomeMeasure) -> Result<Self> {
        Ok(Outcome {
            instrument: instrument_from_pb(o.instrument, "instrument")?,
            score: o.score,
        })
    }
}

impl ToWire for Outcome {
    type Wire = pb::OutcomeMeasure;
    fn to_wire(&self) -> pb::OutcomeMeasure {
        pb::OutcomeMeasure {
            instrument: instrument_to_pb(self.instrument).into(),
            score: self.score,
        }
    }
}

impl ToWire for observe::Assessment {
    type Wire = pb::Assessment;
    fn to_wire(&self) -> pb::Assessment {
        pb::Assessment {
            observe_time: Some(timestamp_to_pb(self.at)),
            ratings: self.ratings.iter().map(Rating::to_wire).collect(),
            outcomes: self.outcomes.iter().map(Outcome::to_wire).collect(),
            risk_flags: self
                .risk_flags
                .iter()
                .map(|f| risk_flag_to_pb(*f).into())
                .collect(),
            ..Default::default()
        }
    }
}

impl FromWire<pb::Assessment> for observe::Assessment {
    fn from_wire(a: &pb::Assessment) -> Result<Self> {
        let at = a
            .observe_time
            .as_ref()
            .ok_or_else(|| ConvertError::new("observe_time", "is required"))
            .and_then(|t| timestamp_from_pb(t, "observe_time"))?;
        Ok(observe::Assessment {
            at,
            ratings: a
                .ratings
                .iter()
                .map(Rating::from_wire)
                .collect::<Result<_>>()?,
            outcomes: a
                .outcomes
                .iter()
                .map(Outcome::from_wire)
                .collect::<Result<_>>()?,
            risk_flags: a
                .risk_flags
                .iter()
                .enumerate()
                .map(|(i, &f)| risk_flag_from_pb(f, &format!("risk_flags[{i}]")))
                .collect::<Result<_>>()?,
        })
    }
}

/// Feedback as the engine sees it: the wire feedback plus what the server knows
/// about the recommendation it reports on.
pub fn feedback_from_pb(
    f: &pb::Feedback,
    intervention: InterventionId,
    context: Context,
    default_time: Timestamp,
) -> Result<observe::Feedback> {
    let at = match &f.observe_time {
        Some(t) => timestamp_from_pb(t, "observe_time")?,
        None => default_time,
    };
    Ok(observe::Feedback {
        intervention,
        at,
        completion: completion_from_pb(f.completion, "completion")?,
        minutes_spent: f.minutes_spent,
        helpfulness: f.helpfulness,
        distress_before: f.distress_before,
        distress_after: f.distress_after,
        post_ratings: f
            .post_ratings
            .iter()
            .map(Rating::from_wire)
            .collect::<Result<_>>()?,
        clinician: f
            .clinician
            .as_ref()
            .map(|c| clinician_from_pb(c, "clinician"))
            .transpose()?,
        context,
    })
}

/// The recommendation context as the engine sees it.
pub fn context_from_pb(c: Option<&pb::RecommendationContext>) -> Result<Context> {
    let Some(c) = c else {
        return Ok(Context::default());
    };
    Ok(Context {
        minutes_available: (c.minutes_available > 0).then_some(c.minutes_available),
        setting: setting_from_pb(c.setting, "context.setting")?,
        capacity: c.capacity,
    })
}

// ---------------------------------------------------------------- catalogue

impl ToWire for catalog::Process {
    type Wire = pb::Process;
    fn to_wire(&self) -> pb::Process {
        let p = self;
        pb::Process {
            id: p.id.to_string(),
            display_name: p.display_name.clone(),
            dimension: p.dimension.clone(),
            adaptive_pole: p.adaptive_pole.clone(),
            maladaptive_pole: p.maladaptive_pole.clone(),
            scale_min: 0.0,
            scale_max: 100.0,
            prior_adaptive_mean: p.prior_adaptive_mean,
            prior_maladaptive_mean: p.prior_maladaptive_mean,
            min_observations: p.min_observations,
        }
    }
}

impl ToWire for catalog::Intervention {
    type Wire = pb::Intervention;
    fn to_wire(&self) -> pb::Intervention {
        let iv = self;
        pb::Intervention {
            id: iv.id.to_string(),
            display_name: iv.display_name.clone(),
            family: iv.family.clone(),
            instructions: iv.instructions.clone(),
            targets: iv
                .targets
                .iter()
                .map(|t| pb::ProcessTarget {
                    process_id: t.process.to_string(),
                    weight: t.weight,
                })
                .collect(),
            effort_minutes: iv.effort_minutes,
            modality: modality_to_pb(iv.modality) as i32,
            requires_clinician: iv.requires_clinician,
            contraindications: conditions_to_pb(&iv.contraindications),
            min_days_between: iv.min_days_between,
            evidence: iv.evidence.clone(),
            prior_effect: iv.prior_effect,
            built_in: iv.built_in,
        }
    }
}

/// A tenant's own intervention. `built_in` on the wire is ignored: only the
/// engine's data files define built-ins. Safety-path and follow-through-aid
/// kernels are built-in only.
impl FromWire<pb::Intervention> for catalog::Intervention {
    fn from_wire(iv: &pb::Intervention) -> Result<Self> {
        let modality = modality_from_pb(iv.modality, "modality")?
            .ok_or_else(|| ConvertError::new("modality", "must be set"))?;
        Ok(catalog::Intervention {
            id: InterventionId::from(iv.id.as_str()),
            display_name: iv.display_name.clone(),
            family: iv.family.clone(),
            instructions: iv.instructions.clone(),
            targets: iv
                .targets
                .iter()
                .map(|t| catalog::Target {
                    process: ProcessId::from(t.process_id.as_str()),
                    weight: t.weight,
                })
                .collect(),
            effort_minutes: iv.effort_minutes,
            modality,
            requires_clinician: iv.requires_clinician,
            contraindications: conditions_from_pb(&iv.contraindications, "contraindications")?,
            min_days_between: iv.min_days_between,
            evidence: iv.evidence.clone(),
            prior_effect: iv.prior_effect,
            built_in: false,
            safety: false,
            follow_through_aid: false,
        })
    }
}

// ---------------------------------------------------------------- estimates

impl ToWire for Interval {
    type Wire = pb::Estimate;
    fn to_wire(&self) -> pb::Estimate {
        let i = self;
        pb::Estimate {
            mean: i.mean,
            lower: i.lower,
            upper: i.upper,
        }
    }
}

impl ToWire for Sufficiency {
    type Wire = pb::DataSufficiency;
    fn to_wire(&self) -> pb::DataSufficiency {
        let s = self;
        pb::DataSufficiency {
            observations: s.observations,
            own_data_weight: s.own_weight,
        }
    }
}

/// One ranked item on the wire. `intervention` is the catalogue entry the item
/// names (the caller looks it up in the tenant's engine).
pub fn recommendation_to_pb(
    item: &RankedItem,
    recommendation_id: String,
    rank: u32,
    intervention: Option<&catalog::Intervention>,
) -> pb::Recommendation {
    pb::Recommendation {
        recommendation_id,
        rank,
        intervention: intervention.map(ToWire::to_wire),
        score: item.score,
        expected_benefit: Some(item.benefit.to_wire()),
        follow_through: Some(item.follow_through.to_wire()),
        targeted_process_ids: item.targets.iter().map(|t| t.process.to_string()).collect(),
        rationale: Some(pb::Rationale {
            targets: item
                .targets
                .iter()
                .map(|t| pb::TargetRationale {
                    process_id: t.process.to_string(),
                    weight: t.weight,
                    influence: Some(t.influence.to_wire()),
                    adaptive_level: t.adaptive_level,
                    maladaptive_level: t.maladaptive_level,
                    headroom: t.headroom,
                })
                .collect(),
            times_recommended: item.times_recommended,
            times_done: item.times_done,
            mean_helpfulness: item.mean_helpfulness,
            evidence: intervention.map(|i| i.evidence.clone()).unwrap_or_default(),
            builds_on_strength: item.builds_on_strength,
            exploratory: item.exploratory,
            sufficiency: Some(item.sufficiency.to_wire()),
        }),
        summary: item.summary.clone(),
        propensity: item.propensity,
        pinned: item.pinned,
        requires_clinician_review: item.requires_clinician_review,
    }
}

/// What a person's data show, on the wire.
pub fn insights_to_pb(
    person_name: String,
    i: &Insights,
    model_version: String,
) -> pb::GetPersonInsightsResponse {
    pb::GetPersonInsightsResponse {
        person: person_name,
        assessment_count: i.assessment_count,
        processes: i
            .processes
            .iter()
            .map(|p| pb::ProcessInsight {
                process_id: p.process.to_string(),
                adaptive_level: p.adaptive_level,
                maladaptive_level: p.maladaptive_level,
                adaptive_trend: p.adaptive_trend,
                maladaptive_trend: p.maladaptive_trend,
                adaptive_influence: Some(p.adaptive_influence.to_wire()),
                maladaptive_influence: Some(p.maladaptive_influence.to_wire()),
                sufficiency: Some(p.sufficiency.to_wire()),
                drive: Some(p.drive.to_wire()),
                correlation: p.correlation,
                relative_value: Some(p.relative_value.to_wire()),
                map_sufficiency: Some(p.map_sufficiency.to_wire()),
            })
            .collect(),
        edges: i
            .edges
            .iter()
            .map(|e| pb::NetworkEdge {
                source: e.source.clone(),
                target: e.target.clone(),
                weight: Some(e.weight.to_wire()),
            })
            .collect(),
        track: Some(pb::TrackAssessment {
            status: track_status_to_pb(i.track.status) as i32,
            weeks_in_care: i.track.weeks_in_care,
            expected_wellbeing: i.track.expected_wellbeing,
            observed_wellbeing: i.track.observed_wellbeing,
            suggested_steps: i.track.suggested_steps.clone(),
        }),
        follow_through: Some(pb::FollowThroughSummary {
            reported: i.follow_through.reported,
            done: i.follow_through.done,
            partly: i.follow_through.partly,
            probability: Some(i.follow_through.probability.to_wire()),
        }),
        risk_active: i.risk_active,
        summary: i.summary.clone(),
        model_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_at_millisecond_precision() {
        let ts = PbTimestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_789,
        };
        let t = timestamp_from_pb(&ts, "t").expect("valid");
        assert_eq!(t, Timestamp(1_700_000_000_123));
        assert_eq!(
            timestamp_to_pb(t),
            PbTimestamp {
                seconds: 1_700_000_000,
                nanos: 123_000_000
            }
        );
    }

    #[test]
    fn timestamps_before_1970_or_with_bad_nanos_are_rejected() {
        let before = PbTimestamp {
            seconds: -1,
            nanos: 0,
        };
        assert!(timestamp_from_pb(&before, "t").is_err());
        let nanos = PbTimestamp {
            seconds: 1,
            nanos: 1_000_000_000,
        };
        assert!(timestamp_from_pb(&nanos, "t").is_err());
    }

    #[test]
    fn every_wire_condition_maps_to_the_engine_and_back() {
        for v in 1..=11 {
            let c = condition_from_pb(v, "c").expect("known");
            assert_eq!(condition_to_pb(c).map(|c| c as i32), Some(v));
        }
        assert!(condition_from_pb(0, "c").is_err());
        assert!(condition_from_pb(99, "c").is_err());
        assert_eq!(condition_to_pb(Condition::AcuteSuicidality), None);
    }

    #[test]
    fn assessments_settings_and_completions_round_trip() {
        let a = observe::Assessment {
            at: Timestamp(1_700_000_000_123),
            ratings: vec![Rating {
                process: ProcessId::from("affect"),
                adaptive: Some(30.0),
                maladaptive: None,
            }],
            outcomes: vec![Outcome {
                instrument: Instrument::Phq9,
                score: 12.0,
            }],
            risk_flags: vec![RiskFlag::Suicidality],
        };
        assert_eq!(
            observe::Assessment::from_wire(&a.to_wire()).expect("valid"),
            a
        );
        for s in [
            None,
            Some(Setting::InSession),
            Some(Setting::BetweenSessions),
            Some(Setting::App),
        ] {
            assert_eq!(
                setting_from_pb(setting_to_pb(s).into(), "s").expect("known"),
                s
            );
        }
        for c in [
            None,
            Some(Completion::Done),
            Some(Completion::Partly),
            Some(Completion::NotDone),
        ] {
            assert_eq!(
                completion_from_pb(completion_to_pb(c).into(), "c").expect("known"),
                c
            );
        }
    }

    #[test]
    fn every_wire_instrument_and_risk_flag_round_trips() {
        for v in 1..=6 {
            let i = instrument_from_pb(v, "i").expect("known");
            assert_eq!(instrument_to_pb(i) as i32, v);
        }
        for v in 1..=5 {
            let f = risk_flag_from_pb(v, "f").expect("known");
            assert_eq!(risk_flag_to_pb(f) as i32, v);
        }
    }

    #[test]
    fn assessment_converts_with_its_time() {
        let a = pb::Assessment {
            id: String::new(),
            observe_time: Some(PbTimestamp {
                seconds: 10,
                nanos: 0,
            }),
            ratings: vec![pb::ProcessRating {
                process_id: "affect".into(),
                adaptive: Some(40.0),
                maladaptive: None,
            }],
            outcomes: vec![pb::OutcomeMeasure {
                instrument: pb::Instrument::Phq9 as i32,
                score: 12.0,
            }],
            risk_flags: vec![pb::RiskFlag::Suicidality as i32],
        };
        let e = observe::Assessment::from_wire(&a).expect("valid");
        assert_eq!(e.at, Timestamp(10_000));
        assert_eq!(e.ratings[0].process.as_str(), "affect");
        assert_eq!(e.outcomes[0].instrument, Instrument::Phq9);
        assert_eq!(e.risk_flags, vec![RiskFlag::Suicidality]);
    }

    #[test]
    fn intervention_round_trips_and_ignores_built_in_on_input() {
        let wire = pb::Intervention {
            id: "walk-and-talk".into(),
            display_name: "Walk and talk".into(),
            family: "social".into(),
            instructions: "Walk with a friend.".into(),
            targets: vec![pb::ProcessTarget {
                process_id: "social".into(),
                weight: 0.7,
            }],
            effort_minutes: 30,
            modality: pb::Modality::BetweenSessions as i32,
            requires_clinician: false,
            contraindications: vec![pb::Condition::Cardiac as i32],
            min_days_between: 2,
            evidence: "ours".into(),
            prior_effect: 1.5,
            built_in: true,
        };
        let domain = catalog::Intervention::from_wire(&wire).expect("valid");
        assert!(!domain.built_in);
        let back = domain.to_wire();
        assert_eq!(
            back,
            pb::Intervention {
                built_in: false,
                ..wire
            }
        );
    }

    #[test]
    fn overridden_review_carries_its_replacement() {
        let r = pb::ClinicianReview {
            decision: pb::ClinicianDecision::Overridden as i32,
            reason: String::new(),
            replacement_intervention_id: "x".into(),
        };
        assert_eq!(
            clinician_from_pb(&r, "c"),
            Ok(ClinicianDecision::Overridden {
                replacement: Some(InterventionId::from("x"))
            })
        );
    }
}
