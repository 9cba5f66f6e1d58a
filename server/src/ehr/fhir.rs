//! FHIR R4 in: QuestionnaireResponses of Tutti's process questionnaire and
//! outcome Observations (alone or in a Bundle) become `tutti.v1.Assessment`s.
//!
//! # Why fhirbolt
//! R4 models come from [`fhirbolt`] (feature `r4`) rather than hand-written
//! structs. It was chosen over `fhir-model` because it has R4 itself (fhir-model
//! offers STU3, R4B and R5, and R4B differs from the R4 that EHRs send), it
//! builds from crates.io alone with no build script or network, its generated
//! serde code is compiled only for the release we enable, and its strict mode
//! rejects elements R4 does not define, which is what "invalid FHIR gets an
//! OperationOutcome" needs.
//!
//! # Mapping
//! - `QuestionnaireResponse` of [`QUESTIONNAIRE_URL`]: each answered item
//!   `<process>.adaptive` / `<process>.maladaptive` is a 0-100 rating (nested
//!   groups are walked). Responses to other questionnaires are skipped.
//! - `Observation` (or each of its `component`s) whose code is in the [`CodeMap`]:
//!   PHQ-9 total (LOINC 44261-6), PHQ-9 item 9 (44260-8: above 0 raises the
//!   suicidality risk flag), GAD-7 total (70274-6), and Tutti's own codes and
//!   the configured ones (WHO-5 among them: its code differs between sites).
//!   Other codes are skipped, not refused.
//! - Values: `valueQuantity`, `valueInteger`, a numeric `valueString`, LOINC
//!   answer codes (LA6568-5 ... LA6571-9 = 0-3) for PHQ items, and in
//!   questionnaire answers also `valueDecimal` (R4 has no `valueDecimal` on
//!   Observation, so one there is invalid FHIR).
//! - `entered-in-error` and `cancelled` resources are ignored.
//! - Resources at the same instant form one assessment, so a PHQ-9 total and
//!   its item 9 sent as two Observations keep the risk flag with the score.
//!
//! Every problem is reported with the FHIRPath of the element, and one
//! problem anywhere means nothing is stored.
#![expect(
    clippy::wildcard_enum_match_arm,
    reason = "FHIR R4's enums (resources, value[x] choices) have dozens of variants; Tutti reads the few it maps and refuses the rest by name"
)]

use crate::config::{CodeMapConfig, MeasureKind};
use crate::convert::timestamp_to_pb;
use fhirbolt::model::r4::Resource;
use fhirbolt::model::r4::resources::{
    Observation, ObservationComponentValue, ObservationEffective, ObservationValue,
    QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswerValue,
};
use fhirbolt::model::r4::types::{CodeableConcept, Quantity};
use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use tutti_engine::catalog::ProcessCatalog;
use tutti_engine::ids::Timestamp;
use tutti_proto::v1 as pb;

/// Canonical URL of Tutti's process questionnaire.
pub const QUESTIONNAIRE_URL: &str = "http://tutti.health/fhir/Questionnaire/tutti-processes";
/// Tutti's own code system for measures without a (verified) LOINC code.
pub const MEASURE_SYSTEM: &str = "http://tutti.health/fhir/CodeSystem/measures";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";

/// One problem with the input, for an OperationOutcome issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// FHIRPath of the element, e.g. `Bundle.entry[1].resource.valueQuantity.value`.
    pub expression: String,
    /// What is wrong.
    pub diagnostics: String,
}

impl Issue {
    fn new(expression: impl Into<String>, diagnostics: impl Into<String>) -> Self {
        Self {
            expression: expression.into(),
            diagnostics: diagnostics.into(),
        }
    }
}

/// An OperationOutcome with one `error` issue per problem.
pub fn operation_outcome(issues: &[Issue], code: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(|i| json!({
            "severity": "error",
            "code": code,
            "diagnostics": i.diagnostics,
            "expression": [i.expression],
        })).collect::<Vec<_>>(),
    })
}

/// Observation codes and what they measure: the built-in LOINC and Tutti
/// codes, then the configured ones (which may override).
#[derive(Debug, Clone)]
pub struct CodeMap {
    map: HashMap<(String, String), MeasureKind>,
    /// The `code` parameter of the Observation search, built once: every
    /// CDS call's prefetch check and FHIR read uses it.
    search: String,
}

/// Panels searched for besides the mapped codes: their own code is not
/// mapped, but their `component`s are read by their codes.
const PANELS: [(&str, &str); 1] = [(LOINC, "44249-1")];

impl CodeMap {
    /// The built-in map plus `extra`.
    pub fn new(extra: &[CodeMapConfig]) -> Self {
        let mut map = HashMap::new();
        let mut order = Vec::new();
        let builtin = [
            (LOINC, "44261-6", MeasureKind::Phq9),
            (LOINC, "44260-8", MeasureKind::SuicidalityItem),
            (LOINC, "70274-6", MeasureKind::Gad7),
            (MEASURE_SYSTEM, "phq9", MeasureKind::Phq9),
            (MEASURE_SYSTEM, "gad7", MeasureKind::Gad7),
            (MEASURE_SYSTEM, "who5", MeasureKind::Who5),
            (MEASURE_SYSTEM, "who5-raw", MeasureKind::Who5Raw),
            (MEASURE_SYSTEM, "oq45", MeasureKind::Oq45),
            (MEASURE_SYSTEM, "wellbeing", MeasureKind::Wellbeing),
            (MEASURE_SYSTEM, "distress", MeasureKind::Distress),
        ];
        let entries = builtin
            .iter()
            .map(|(s, c, k)| ((*s).to_owned(), (*c).to_owned(), *k))
            .chain(
                extra
                    .iter()
                    .map(|c| (c.system.clone(), c.code.clone(), c.measure)),
            );
        for (system, code, kind) in entries {
            let key = (system, code);
            if map.insert(key.clone(), kind).is_none() {
                order.push(key);
            }
        }
        // Every code once, built-in first, then configured in config order
        // (stable, so discovery's answer is too), then the panels whose
        // components are read.
        let panels = PANELS.iter().map(|(s, c)| (*s, *c));
        let mapped = order.iter().map(|(s, c)| (s.as_str(), c.as_str()));
        let mut seen = std::collections::HashSet::new();
        let search = mapped
            .chain(panels)
            .filter(|k| seen.insert(*k))
            .map(|(s, c)| format!("{}|{}", search_escape(s), search_escape(c)))
            .collect::<Vec<_>>()
            .join(",");
        Self { map, search }
    }

    /// The `code` parameter of an Observation search for every code read
    /// (mapped codes and the panels whose components are): `system|code`
    /// tokens joined by commas, so configured codes (a site's WHO-5) are
    /// prefetched and fetched like the built-in ones.
    pub fn observation_search(&self) -> &str {
        &self.search
    }

    fn lookup(&self, concept: &CodeableConcept) -> Option<MeasureKind> {
        concept.coding.iter().find_map(|c| {
            let system = c.system.as_ref()?.value.as_deref()?;
            let code = c.code.as_ref()?.value.as_deref()?;
            self.map.get(&(system.to_owned(), code.to_owned())).copied()
        })
    }
}

/// A system or code as a token of a FHIR search URL: FHIR's own separators
/// (comma, pipe, dollar and backslash) escaped with a backslash, then anything outside the
/// characters a URL query keeps as they are percent-encoded. Built-in codes
/// pass unchanged.
fn search_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, ',' | '|' | '$' | '\\') {
            out.push_str("%5C");
        }
        if ch.is_ascii_alphanumeric() || "-._~:/".contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// What one measure contributes to an assessment.
enum Contribution {
    Outcome(pb::Instrument, f64),
    Rating {
        process: String,
        adaptive: bool,
        value: f64,
    },
    Risk(pb::RiskFlag),
    NoRisk,
}

/// An assessment made from the resources of one instant, with the key that
/// makes ingesting the same resources again a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Where it came from (the first resource's FHIRPath), for messages.
    pub path: String,
    /// Stable digest of the resources it was made from.
    pub key: String,
    /// The assessment (no id yet).
    pub assessment: pb::Assessment,
}

/// The result of reading FHIR input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// Assessments, oldest first.
    pub assessments: Vec<Parsed>,
    /// Resources skipped: entered-in-error, cancelled, other codes or questionnaires.
    pub ignored: u32,
}

/// Reads FHIR R4 JSON: a Bundle, an Observation or a QuestionnaireResponse.
pub fn read(
    input: &Value,
    codes: &CodeMap,
    catalog: &ProcessCatalog,
) -> Result<Reading, Vec<Issue>> {
    let mut reader = Reader {
        codes,
        catalog,
        issues: Vec::new(),
        ignored: 0,
        groups: BTreeMap::new(),
    };
    match input.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => reader.bundle(input),
        Some("Observation" | "QuestionnaireResponse") => {
            let rt = input
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            reader.resource(input, rt.to_owned());
        }
        Some(other) => reader.issues.push(Issue::new(
            "resourceType",
            format!(
                "`{other}` is not accepted: send a Bundle, an Observation or a QuestionnaireResponse"
            ),
        )),
        None => reader.issues.push(Issue::new(
            "resourceType",
            "is required: the body must be a FHIR R4 resource in JSON",
        )),
    }
    if !reader.issues.is_empty() {
        return Err(reader.issues);
    }
    let ignored = reader.ignored;
    let assessments = reader
        .groups
        .into_iter()
        .map(|(at, g)| g.finish(at))
        .collect();
    Ok(Reading {
        assessments,
        ignored,
    })
}

#[derive(Default)]
struct Group {
    path: String,
    digests: Vec<String>,
    outcomes: BTreeMap<i32, f64>,
    ratings: BTreeMap<String, (Option<f64>, Option<f64>)>,
    risks: Vec<pb::RiskFlag>,
}

impl Group {
    fn finish(mut self, at: i64) -> Parsed {
        self.digests.sort();
        let mut h = Sha256::new();
        for d in &self.digests {
            h.update(d.as_bytes());
            h.update([0]);
        }
        self.risks.sort_by_key(|r| *r as i32);
        self.risks.dedup();
        Parsed {
            path: self.path,
            key: crate::convert::hex(&h.finalize()),
            assessment: pb::Assessment {
                id: String::new(),
                observe_time: Some(timestamp_to_pb(Timestamp(at))),
                ratings: self
                    .ratings
                    .into_iter()
                    .map(|(process_id, (adaptive, maladaptive))| pb::ProcessRating {
                        process_id,
                        adaptive,
                        maladaptive,
                    })
                    .collect(),
                outcomes: self
                    .outcomes
                    .into_iter()
                    .map(|(instrument, score)| pb::OutcomeMeasure { instrument, score })
                    .collect(),
                risk_flags: self.risks.into_iter().map(|r| r as i32).collect(),
            },
        }
    }
}

struct Reader<'a> {
    codes: &'a CodeMap,
    catalog: &'a ProcessCatalog,
    issues: Vec<Issue>,
    ignored: u32,
    groups: BTreeMap<i64, Group>,
}

fn strict() -> Option<DeserializationConfig> {
    Some(DeserializationConfig {
        mode: DeserializationMode::Strict,
    })
}

impl Reader<'_> {
    fn bundle(&mut self, input: &Value) {
        // The Bundle's own elements are checked by the typed model; entries are
        // then read one by one so a problem names its entry.
        let mut shell = input.clone();
        let entries = match shell.as_object_mut().and_then(|m| m.remove("entry")) {
            Some(Value::Array(entries)) => entries,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                self.issues
                    .push(Issue::new("Bundle.entry", "must be an array"));
                return;
            }
        };
        if let Err(e) = fhirbolt::json::from_json_value::<Resource>(shell, strict()) {
            self.issues.push(Issue::new("Bundle", e.to_string()));
        }
        for (i, entry) in entries.iter().enumerate() {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            match resource.get("resourceType").and_then(Value::as_str) {
                Some("Observation" | "QuestionnaireResponse") => {
                    self.resource(resource, format!("Bundle.entry[{i}].resource"));
                }
                // Patients, Encounters, ... travel in real bundles: not ours to read.
                Some(_) => self.ignored += 1,
                None => self.issues.push(Issue::new(
                    format!("Bundle.entry[{i}].resource.resourceType"),
                    "is required",
                )),
            }
        }
    }

    fn resource(&mut self, value: &Value, path: String) {
        let parsed = match fhirbolt::json::from_json_value::<Resource>(value.clone(), strict()) {
            Ok(r) => r,
            Err(e) => {
                self.issues.push(Issue::new(path, e.to_string()));
                return;
            }
        };
        let digest = {
            let mut h = Sha256::new();
            h.update(value.to_string().as_bytes());
            crate::convert::hex(&h.finalize())
        };
        match parsed {
            Resource::Observation(o) => self.observation(&o, &path, digest),
            Resource::QuestionnaireResponse(q) => self.questionnaire_response(&q, &path, digest),
            _ => self.ignored += 1,
        }
    }

    fn add(&mut self, at: i64, path: &str, digest: String, parts: Vec<(String, Contribution)>) {
        let group = self.groups.entry(at).or_default();
        if group.path.is_empty() {
            group.path = path.to_owned();
        }
        group.digests.push(digest);
        for (_, c) in parts {
            match c {
                Contribution::Outcome(i, v) => {
                    group.outcomes.insert(i as i32, v);
                }
                Contribution::Rating {
                    process,
                    adaptive,
                    value,
                } => {
                    let slot = group.ratings.entry(process).or_default();
                    if adaptive {
                        slot.0 = Some(value);
                    } else {
                        slot.1 = Some(value);
                    }
                }
                Contribution::Risk(r) => group.risks.push(r),
                Contribution::NoRisk => {}
            }
        }
    }

    fn observation(&mut self, o: &Observation, path: &str, digest: String) {
        let status = o.status.value.as_deref().unwrap_or_default();
        if matches!(status, "entered-in-error" | "cancelled") {
            self.ignored += 1;
            return;
        }
        let mut parts = Vec::new();
        let before = self.issues.len();
        if let Some(kind) = self.codes.lookup(&o.code) {
            let value = o.value.as_ref().map(observation_value);
            match value {
                Some(Ok((v, at))) => {
                    if let Some(c) = self.measure(kind, v, &format!("{path}.{at}")) {
                        parts.push((path.to_owned(), c));
                    }
                }
                Some(Err(e)) => self.issues.push(Issue::new(format!("{path}.value[x]"), e)),
                None if o.data_absent_reason.is_some() => {}
                None if o.component.is_empty() => self.issues.push(Issue::new(
                    format!("{path}.value[x]"),
                    "is required for this code (or a dataAbsentReason)",
                )),
                None => {}
            }
        }
        for (i, c) in o.component.iter().enumerate() {
            let Some(kind) = self.codes.lookup(&c.code) else {
                continue;
            };
            let at = format!("{path}.component[{i}]");
            match c.value.as_ref().map(component_value) {
                Some(Ok((v, el))) => {
                    if let Some(contribution) = self.measure(kind, v, &format!("{at}.{el}")) {
                        parts.push((at, contribution));
                    }
                }
                Some(Err(e)) => self.issues.push(Issue::new(format!("{at}.value[x]"), e)),
                None => {}
            }
        }
        if self.issues.len() > before {
            return;
        }
        if parts.is_empty() {
            self.ignored += 1;
            return;
        }
        let time = match &o.effective {
            Some(ObservationEffective::DateTime(d)) => d
                .value
                .as_deref()
                .map(|v| (v, format!("{path}.effectiveDateTime"))),
            Some(ObservationEffective::Instant(d)) => d
                .value
                .as_deref()
                .map(|v| (v, format!("{path}.effectiveInstant"))),
            Some(ObservationEffective::Period(p)) => p
                .start
                .as_ref()
                .and_then(|s| s.value.as_deref())
                .map(|v| (v, format!("{path}.effectivePeriod.start"))),
            _ => None,
        }
        .or_else(|| {
            o.issued
                .as_ref()
                .and_then(|i| i.value.as_deref())
                .map(|v| (v, format!("{path}.issued")))
        });
        match time {
            Some((text, at)) => match parse_date_time(text) {
                Some(ms) => self.add(ms, path, digest, parts),
                None => self
                    .issues
                    .push(Issue::new(at, format!("`{text}` is not a FHIR dateTime"))),
            },
            None => self.issues.push(Issue::new(
                format!("{path}.effective[x]"),
                "is required (effectiveDateTime, effectivePeriod.start, effectiveInstant or issued)",
            )),
        }
    }

    fn measure(&mut self, kind: MeasureKind, v: f64, at: &str) -> Option<Contribution> {
        let (instrument, lo, hi, scale) = match kind {
            MeasureKind::Phq9 => (pb::Instrument::Phq9, 0.0, 27.0, 1.0),
            MeasureKind::Gad7 => (pb::Instrument::Gad7, 0.0, 21.0, 1.0),
            MeasureKind::Who5 => (pb::Instrument::Who5, 0.0, 100.0, 1.0),
            MeasureKind::Who5Raw => (pb::Instrument::Who5, 0.0, 25.0, 4.0),
            MeasureKind::Oq45 => (pb::Instrument::Oq45, 0.0, 180.0, 1.0),
            MeasureKind::Wellbeing => (pb::Instrument::Wellbeing, 0.0, 100.0, 1.0),
            MeasureKind::Distress => (pb::Instrument::Distress, 0.0, 100.0, 1.0),
            MeasureKind::SuicidalityItem => {
                if !(0.0..=3.0).contains(&v) {
                    self.issues
                        .push(Issue::new(at, "must be 0-3 (a PHQ-9 item score)"));
                    return None;
                }
                return Some(if v > 0.0 {
                    Contribution::Risk(pb::RiskFlag::Suicidality)
                } else {
                    Contribution::NoRisk
                });
            }
        };
        if !(lo..=hi).contains(&v) {
            self.issues.push(Issue::new(
                at,
                format!("must be in [{lo}, {hi}] for this code"),
            ));
            return None;
        }
        Some(Contribution::Outcome(instrument, v * scale))
    }

    fn questionnaire_response(&mut self, q: &QuestionnaireResponse, path: &str, digest: String) {
        let status = q.status.value.as_deref().unwrap_or_default();
        if matches!(status, "entered-in-error" | "cancelled") {
            self.ignored += 1;
            return;
        }
        let ours = q
            .questionnaire
            .as_ref()
            .and_then(|c| c.value.as_deref())
            .is_some_and(|url| url.split('|').next() == Some(QUESTIONNAIRE_URL));
        if !ours {
            self.ignored += 1;
            return;
        }
        let before = self.issues.len();
        let mut parts = Vec::new();
        self.items(&q.item, &format!("{path}.item"), &mut parts);
        if self.issues.len() > before {
            return;
        }
        if parts.is_empty() {
            self.ignored += 1;
            return;
        }
        match q.authored.as_ref().and_then(|a| a.value.as_deref()) {
            Some(text) => match parse_date_time(text) {
                Some(ms) => self.add(ms, path, digest, parts),
                None => self.issues.push(Issue::new(
                    format!("{path}.authored"),
                    format!("`{text}` is not a FHIR dateTime"),
                )),
            },
            None => self.issues.push(Issue::new(
                format!("{path}.authored"),
                "is required: when the person answered",
            )),
        }
    }

    fn items(
        &mut self,
        items: &[QuestionnaireResponseItem],
        path: &str,
        parts: &mut Vec<(String, Contribution)>,
    ) {
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            self.items(&item.item, &format!("{at}.item"), parts);
            if item.answer.is_empty() {
                continue;
            }
            let link = item.link_id.value.as_deref().unwrap_or_default();
            let Some((process, adaptive)) = self.link(link) else {
                // Groups and display items carry no answer; an answered item
                // that is not ours is a mistake the sender should hear about.
                self.issues.push(Issue::new(
                    format!("{at}.linkId"),
                    format!("`{link}` is not an item of {QUESTIONNAIRE_URL}"),
                ));
                continue;
            };
            if item.answer.len() > 1 {
                self.issues
                    .push(Issue::new(format!("{at}.answer"), "must have one answer"));
                continue;
            }
            for (j, answer) in item.answer.iter().enumerate() {
                let el = format!("{at}.answer[{j}]");
                match answer.value.as_ref().map(answer_value) {
                    Some(Ok((v, _))) if (0.0..=100.0).contains(&v) => parts.push((
                        el,
                        Contribution::Rating {
                            process: process.clone(),
                            adaptive,
                            value: v,
                        },
                    )),
                    Some(Ok((_, name))) => self
                        .issues
                        .push(Issue::new(format!("{el}.{name}"), "must be in [0, 100]")),
                    Some(Err(e)) => self.issues.push(Issue::new(format!("{el}.value[x]"), e)),
                    None => self
                        .issues
                        .push(Issue::new(format!("{el}.value[x]"), "is required")),
                }
            }
        }
    }

    fn link(&self, link: &str) -> Option<(String, bool)> {
        let (process, pole) = link.rsplit_once('.')?;
        let adaptive = match pole {
            "adaptive" => true,
            "maladaptive" => false,
            _ => return None,
        };
        self.catalog
            .all()
            .iter()
            .any(|p| p.id.as_str() == process)
            .then(|| (process.to_owned(), adaptive))
    }
}

fn decimal(text: Option<&str>, element: &str) -> Result<f64, String> {
    let t = text.ok_or_else(|| format!("{element} has no value"))?;
    t.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{element} `{t}` is not a number"))
}

fn quantity(q: &Quantity) -> Result<f64, String> {
    decimal(
        q.value.as_ref().and_then(|d| d.value.as_deref()),
        "valueQuantity.value",
    )
}

/// LOINC answer codes of the PHQ items ("Not at all" .. "Nearly every day").
fn loinc_answer(c: &CodeableConcept) -> Option<f64> {
    c.coding
        .iter()
        .find_map(|coding| match coding.code.as_ref()?.value.as_deref()? {
            "LA6568-5" => Some(0.0),
            "LA6569-3" => Some(1.0),
            "LA6570-1" => Some(2.0),
            "LA6571-9" => Some(3.0),
            _ => None,
        })
}

fn observation_value(v: &ObservationValue) -> Result<(f64, &'static str), String> {
    match v {
        ObservationValue::Quantity(q) => quantity(q).map(|x| (x, "valueQuantity.value")),
        ObservationValue::Integer(i) => i
            .value
            .map(|x| (f64::from(x), "valueInteger"))
            .ok_or_else(|| "valueInteger has no value".to_owned()),
        ObservationValue::String(s) => {
            decimal(s.value.as_deref(), "valueString").map(|x| (x, "valueString"))
        }
        ObservationValue::CodeableConcept(c) => loinc_answer(c)
            .map(|x| (x, "valueCodeableConcept"))
            .ok_or_else(|| "valueCodeableConcept is not a known answer code".to_owned()),
        _ => Err(
            "must be valueQuantity, valueInteger, a numeric valueString or an answer code".into(),
        ),
    }
}

fn component_value(v: &ObservationComponentValue) -> Result<(f64, &'static str), String> {
    match v {
        ObservationComponentValue::Quantity(q) => quantity(q).map(|x| (x, "valueQuantity.value")),
        ObservationComponentValue::Integer(i) => i
            .value
            .map(|x| (f64::from(x), "valueInteger"))
            .ok_or_else(|| "valueInteger has no value".to_owned()),
        ObservationComponentValue::String(s) => {
            decimal(s.value.as_deref(), "valueString").map(|x| (x, "valueString"))
        }
        ObservationComponentValue::CodeableConcept(c) => loinc_answer(c)
            .map(|x| (x, "valueCodeableConcept"))
            .ok_or_else(|| "valueCodeableConcept is not a known answer code".to_owned()),
        _ => Err(
            "must be valueQuantity, valueInteger, a numeric valueString or an answer code".into(),
        ),
    }
}

fn answer_value(v: &QuestionnaireResponseItemAnswerValue) -> Result<(f64, &'static str), String> {
    match v {
        QuestionnaireResponseItemAnswerValue::Integer(i) => i
            .value
            .map(|x| (f64::from(x), "valueInteger"))
            .ok_or_else(|| "valueInteger has no value".to_owned()),
        QuestionnaireResponseItemAnswerValue::Decimal(d) => {
            decimal(d.value.as_deref(), "valueDecimal").map(|x| (x, "valueDecimal"))
        }
        QuestionnaireResponseItemAnswerValue::Quantity(q) => {
            quantity(q).map(|x| (x, "valueQuantity.value"))
        }
        QuestionnaireResponseItemAnswerValue::String(s) => {
            decimal(s.value.as_deref(), "valueString").map(|x| (x, "valueString"))
        }
        _ => {
            Err("must be valueInteger, valueDecimal, valueQuantity or a numeric valueString".into())
        }
    }
}

/// Milliseconds since the epoch of a FHIR `dateTime`/`instant`: a full
/// date-time with offset, or a date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, taken as
/// its first instant in UTC).
pub fn parse_date_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    }
    let mut parts = text.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u8 = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    if parts.next().is_some() || !(1000..=9999).contains(&year) {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// Tutti's process questionnaire as a FHIR R4 `Questionnaire`: for each
/// process of `catalog`, a group with its adaptive and maladaptive item
/// (linkIds `<process>.adaptive` and `<process>.maladaptive`, integer 0-100).
pub fn questionnaire(catalog: &ProcessCatalog) -> Value {
    let slider = |text: &str, link: String| {
        json!({
            "linkId": link,
            "text": text,
            "type": "integer",
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
                {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 100}
            ]
        })
    };
    let items: Vec<Value> = catalog
        .all()
        .iter()
        .map(|p| {
            let id = p.id.as_str();
            json!({
                "linkId": id,
                "text": p.display_name,
                "type": "group",
                "item": [
                    slider(&p.adaptive_pole, format!("{id}.adaptive")),
                    slider(&p.maladaptive_pole, format!("{id}.maladaptive")),
                ]
            })
        })
        .collect();
    json!({
        "resourceType": "Questionnaire",
        "id": "tutti-processes",
        "url": QUESTIONNAIRE_URL,
        "version": "1",
        "name": "TuttiProcessRatings",
        "title": "Tutti process ratings (past week, 0-100)",
        "status": "active",
        "subjectType": ["Patient"],
        "description": "Each process has an adaptive and a maladaptive item, rated 0-100 for the past week. The two poles are distinct signals, not one reversed scale; answer either or both.",
        "item": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ProcessCatalog {
        ProcessCatalog::builtin()
    }

    fn obs(code: &str, value: Value, time: &str) -> Value {
        let mut o = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": "Patient/1"},
            "effectiveDateTime": time,
        });
        if let (Some(map), Value::Object(v)) = (o.as_object_mut(), value) {
            map.extend(v);
        }
        o
    }

    #[test]
    fn phq9_total_and_item9_at_one_instant_form_one_assessment_with_the_risk_flag() {
        let t = "2026-11-20T09:00:00+01:00";
        let bundle = json!({
            "resourceType": "Bundle", "type": "searchset",
            "entry": [
                {"resource": obs("44261-6", json!({"valueQuantity": {"value": 14, "unit": "{score}"}}), t)},
                {"resource": obs("44260-8", json!({"valueInteger": 2}), t)},
                {"resource": {"resourceType": "Patient", "id": "1"}},
            ]
        });
        let r = read(&bundle, &CodeMap::new(&[]), &catalog()).expect("valid");
        assert_eq!(r.ignored, 1);
        assert_eq!(r.assessments.len(), 1);
        let a = &r.assessments[0].assessment;
        assert_eq!(
            a.outcomes,
            vec![pb::OutcomeMeasure {
                instrument: pb::Instrument::Phq9 as i32,
                score: 14.0
            }]
        );
        assert_eq!(a.risk_flags, vec![pb::RiskFlag::Suicidality as i32]);
    }

    #[test]
    fn string_values_components_and_answer_codes_are_read() {
        let t = "2026-11-20";
        let panel = json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "44249-1"}]},
            "effectiveDateTime": t,
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "44261-6"}]}, "valueString": " 9 "},
                {"code": {"coding": [{"system": LOINC, "code": "44260-8"}]},
                 "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA6568-5"}]}},
            ]
        });
        let r = read(&panel, &CodeMap::new(&[]), &catalog()).expect("valid");
        let a = &r.assessments[0].assessment;
        assert_eq!(a.outcomes[0].score, 9.0);
        assert!(a.risk_flags.is_empty());
    }

    #[test]
    fn invalid_input_names_the_element() {
        let bad = obs(
            "44261-6",
            json!({"valueQuantity": {"value": 40}}),
            "2026-11-20",
        );
        let e = read(&bad, &CodeMap::new(&[]), &catalog()).expect_err("out of range");
        assert_eq!(e[0].expression, "Observation.valueQuantity.value");
        let unknown = obs("44261-6", json!({"valueDecimal": 4}), "2026-11-20");
        let e = read(&unknown, &CodeMap::new(&[]), &catalog()).expect_err("not R4");
        assert_eq!(e[0].expression, "Observation");
        assert!(e[0].diagnostics.contains("valueDecimal"), "{e:?}");
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": obs("44261-6", json!({"valueString": "many"}), "2026-11-20")}]});
        let e = read(&bundle, &CodeMap::new(&[]), &catalog()).expect_err("not numeric");
        assert_eq!(e[0].expression, "Bundle.entry[0].resource.value[x]");
    }

    #[test]
    fn entered_in_error_and_cancelled_are_ignored() {
        let mut o = obs("44261-6", json!({"valueInteger": 3}), "2026-11-20");
        o["status"] = json!("entered-in-error");
        let r = read(&o, &CodeMap::new(&[]), &catalog()).expect("valid");
        assert!(r.assessments.is_empty());
        assert_eq!(r.ignored, 1);

        let qr = |status: &str| {
            json!({
                "resourceType": "QuestionnaireResponse", "status": status,
                "questionnaire": QUESTIONNAIRE_URL,
                "authored": "2026-11-20T08:00:00Z",
                "item": [{"linkId": "affect.adaptive", "answer": [{"valueInteger": 70}]}]
            })
        };
        let final_obs = obs("44261-6", json!({"valueInteger": 3}), "2026-11-21");
        let mut cancelled = final_obs.clone();
        cancelled["status"] = json!("cancelled");
        // A Bundle with one of each: only the valid ones count.
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": cancelled},
            {"resource": qr("entered-in-error")},
            {"resource": final_obs},
            {"resource": qr("completed")},
        ]});
        let r = read(&bundle, &CodeMap::new(&[]), &catalog()).expect("valid");
        assert_eq!(r.ignored, 2, "{r:?}");
        assert_eq!(r.assessments.len(), 2, "{r:?}");
        let a = &r.assessments;
        assert_eq!(a[0].assessment.ratings.len(), 1, "the completed response");
        assert!(a[0].assessment.outcomes.is_empty());
        assert_eq!(
            a[1].assessment.outcomes[0].score, 3.0,
            "the final Observation"
        );
    }

    #[test]
    fn a_configured_code_is_read_and_searched_for() {
        let site = CodeMapConfig {
            system: "http://hospital.example/codes".into(),
            code: "WHO5,total".into(),
            measure: MeasureKind::Who5Raw,
        };
        let mut o = obs("x", json!({"valueInteger": 18}), "2026-11-20");
        o["code"]["coding"][0] = json!({"system": site.system, "code": site.code});
        let without = read(&o, &CodeMap::new(&[]), &catalog()).expect("valid");
        assert!(without.assessments.is_empty(), "not mapped: skipped");
        let codes = CodeMap::new(std::slice::from_ref(&site));
        let r = read(&o, &codes, &catalog()).expect("valid");
        assert_eq!(
            r.assessments[0].assessment.outcomes,
            vec![pb::OutcomeMeasure {
                instrument: pb::Instrument::Who5 as i32,
                score: 72.0
            }],
            "raw 0-25 read as the 0-100 percentage"
        );
        let search = codes.observation_search();
        assert!(
            search.starts_with("http://loinc.org|44261-6,http://loinc.org|44260-8,"),
            "{search}"
        );
        assert!(search.contains(",http://loinc.org|44249-1"), "{search}");
        // The comma inside the code is escaped for FHIR search, then for the URL.
        assert!(
            search.ends_with(
                ",http://hospital.example/codes|WHO5%5C%2Ctotal,http://loinc.org|44249-1"
            ),
            "{search}"
        );
        assert!(
            !CodeMap::new(&[]).observation_search().contains("hospital"),
            "only configured codes are asked for"
        );
    }

    #[test]
    fn questionnaire_answers_become_ratings() {
        let qr = json!({
            "resourceType": "QuestionnaireResponse", "status": "completed",
            "questionnaire": format!("{QUESTIONNAIRE_URL}|1"),
            "authored": "2026-11-20T08:00:00Z",
            "item": [{"linkId": "affect", "item": [
                {"linkId": "affect.adaptive", "answer": [{"valueInteger": 70}]},
                {"linkId": "affect.maladaptive", "answer": [{"valueDecimal": 12.5}]}]},
                {"linkId": "sleep.adaptive", "answer": [{"valueString": "40"}]}]
        });
        let r = read(&qr, &CodeMap::new(&[]), &catalog()).expect("valid");
        let a = &r.assessments[0].assessment;
        assert_eq!(a.ratings.len(), 2);
        assert_eq!(a.ratings[0].process_id, "affect");
        assert_eq!(a.ratings[0].maladaptive, Some(12.5));
        let mut bad = qr.clone();
        bad["item"][1]["linkId"] = json!("nope.adaptive");
        let e = read(&bad, &CodeMap::new(&[]), &catalog()).expect_err("unknown item");
        assert_eq!(e[0].expression, "QuestionnaireResponse.item[1].linkId");
    }

    #[test]
    fn the_questionnaire_has_two_items_per_process() {
        let q = questionnaire(&catalog());
        let groups = q["item"].as_array().expect("items");
        assert_eq!(groups.len(), catalog().len());
        assert_eq!(
            groups[0]["item"][0]["linkId"],
            format!("{}.adaptive", catalog().all()[0].id.as_str())
        );
    }

    #[test]
    fn dates_and_date_times_parse() {
        assert_eq!(parse_date_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date_time("yesterday"), None);
    }
}
