//! Commands of `tutti.v1.CatalogService`.

use crate::convert::page::{PageToken, fingerprint};
use crate::convert::{self, ToWire as _};
use crate::error::Violations;
use crate::idempotency::Idempotency;
use crate::validate::{self, Ctx, MAX_INTERVENTION_PAGE, MAX_MINUTES};
use std::collections::HashSet;
use tutti_engine::catalog::{Intervention, Modality};
use tutti_engine::ids::{InterventionId, ProcessId};
use tutti_proto::v1 as pb;

/// Full method name of CreateIntervention (its idempotency records are keyed by it).
pub const CREATE_INTERVENTION: &str = "/tutti.v1.CatalogService/CreateIntervention";
/// Full method name of UpdateIntervention.
pub const UPDATE_INTERVENTION: &str = "/tutti.v1.CatalogService/UpdateIntervention";

/// ListInterventions' page size when the request sets none.
pub const DEFAULT_PAGE: u32 = 50;

/// The fields UpdateIntervention may change (`update_mask` paths).
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "family",
    "instructions",
    "targets",
    "effort_minutes",
    "modality",
    "requires_clinician",
    "contraindications",
    "min_days_between",
    "evidence",
    "prior_effect",
];

/// ListInterventions.
#[derive(Debug, Clone)]
pub struct ListInterventionsCommand {
    /// Only interventions targeting this process.
    pub process: Option<ProcessId>,
    /// Only this modality.
    pub modality: Option<Modality>,
    /// Only interventions of at most these minutes (0: any).
    pub max_minutes: u32,
    /// Where the page starts (after this id).
    pub after: Option<InterventionId>,
    /// Page size.
    pub size: usize,
    /// What a page token of this listing is bound to.
    pub fingerprint: String,
}

impl ListInterventionsCommand {
    /// The page-token list name.
    pub const LIST: &'static str = "interventions";

    /// Parses the request; the page token only when every other field is good.
    pub fn parse(req: &pb::ListInterventionsRequest, ctx: &Ctx<'_>) -> Result<Self, Violations> {
        let mut v = Violations::new();
        validate::page_size(&mut v, "page_size", req.page_size, MAX_INTERVENTION_PAGE);
        let process =
            (!req.process_id.is_empty()).then(|| ProcessId::from(req.process_id.as_str()));
        if let Some(p) = &process
            && ctx.engine.processes().get(p).is_none()
        {
            v.add(
                "process_id",
                "is not a process in the catalogue (see ListProcesses)",
            );
        }
        let modality = validate::converted(
            &mut v,
            "",
            convert::modality_from_pb(req.modality, "modality"),
        );
        if req.max_minutes > MAX_MINUTES {
            v.add(
                "max_minutes",
                format!("must be at most {MAX_MINUTES} (0 means any)"),
            );
        }
        let modality = v.finish(|| modality)?;
        let fingerprint = fingerprint(&[
            &req.process_id,
            &req.modality.to_string(),
            &req.max_minutes.to_string(),
        ]);
        let after = PageToken::decode(&req.page_token, Self::LIST, &fingerprint, 1)
            .map_err(|e| Violations::single("page_token", e.to_string()))?
            .map(|t| InterventionId::from(t.after[0].as_str()));
        Ok(Self {
            process,
            modality,
            max_minutes: req.max_minutes,
            after,
            size: match req.page_size {
                0 => DEFAULT_PAGE,
                n => n,
            } as usize,
            fingerprint,
        })
    }
}

/// GetIntervention (whether it exists is the handler's to find: `NOT_FOUND`).
#[derive(Debug, Clone)]
pub struct GetInterventionCommand {
    /// Which.
    pub id: InterventionId,
}

impl GetInterventionCommand {
    /// Parses the request.
    pub fn parse(req: &pb::GetInterventionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = validate::intervention_id(&mut v, "id", &req.id);
        v.finish(|| Some(Self { id: id? }))
    }
}

/// CreateIntervention.
#[derive(Debug, Clone)]
pub struct CreateInterventionCommand {
    /// Idempotency key.
    pub idem: Idempotency,
    /// The new intervention, as the engine reads it.
    pub intervention: Intervention,
}

impl CreateInterventionCommand {
    /// Parses the request.
    pub fn parse(req: &pb::CreateInterventionRequest, ctx: &Ctx<'_>) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let intervention = match &req.intervention {
            Some(iv) => {
                validate::intervention_id(&mut v, "intervention.id", &iv.id);
                validate::intervention_fields(&mut v, "intervention", iv, ctx)
            }
            None => {
                v.add("intervention", "is required");
                None
            }
        };
        v.finish(|| {
            Some(Self {
                idem: Idempotency::new(CREATE_INTERVENTION, request_id?, req),
                intervention: intervention?,
            })
        })
    }

    /// The stored and returned form: normalised (`built_in` false,
    /// conditions deduplicated), so a read returns exactly what was stored.
    pub fn wire(&self) -> pb::Intervention {
        self.intervention.to_wire()
    }
}

/// UpdateIntervention: the ids and the mask. The merged intervention is
/// parsed once the stored one is read ([`UpdateInterventionCommand::merge`]).
#[derive(Debug, Clone)]
pub struct UpdateInterventionCommand {
    /// Idempotency key.
    pub idem: Idempotency,
    /// Which.
    pub id: InterventionId,
    /// The new field values.
    pub patch: pb::Intervention,
    /// The fields to change (every field when empty).
    pub paths: Vec<String>,
}

impl UpdateInterventionCommand {
    /// Parses the request.
    pub fn parse(req: pb::UpdateInterventionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let id = match &req.intervention {
            Some(iv) => validate::intervention_id(&mut v, "intervention.id", &iv.id),
            None => {
                v.add("intervention", "is required");
                None
            }
        };
        if let Some(mask) = &req.update_mask {
            let mut seen = HashSet::new();
            for (i, p) in mask.paths.iter().enumerate() {
                let field = format!("update_mask.paths[{i}]");
                if !UPDATABLE_FIELDS.contains(&p.as_str()) {
                    v.add(
                        field,
                        format!("must be one of: {}", UPDATABLE_FIELDS.join(", ")),
                    );
                } else if !seen.insert(p.as_str()) {
                    v.add(field, "appears more than once");
                }
            }
        }
        v.finish(move || {
            let idem = Idempotency::new(UPDATE_INTERVENTION, request_id?, &req);
            Some(Self {
                idem,
                id: id?,
                patch: req.intervention?,
                paths: req.update_mask.map(|m| m.paths).unwrap_or_default(),
            })
        })
    }

    /// The stored intervention with the masked fields replaced, parsed as
    /// a new one would be.
    pub fn merge(
        &self,
        mut stored: pb::Intervention,
        ctx: &Ctx<'_>,
    ) -> Result<Intervention, Violations> {
        apply_mask(&mut stored, &self.patch, &self.paths);
        let mut v = Violations::new();
        let merged = validate::intervention_fields(&mut v, "intervention", &stored, ctx);
        v.finish(|| merged)
    }
}

/// Copies the fields named in `paths` (every field when empty) from `new` onto `base`.
fn apply_mask(base: &mut pb::Intervention, new: &pb::Intervention, paths: &[String]) {
    let all = paths.is_empty();
    let wants = |f: &str| all || paths.iter().any(|p| p == f);
    if wants("display_name") {
        base.display_name.clone_from(&new.display_name);
    }
    if wants("family") {
        base.family.clone_from(&new.family);
    }
    if wants("instructions") {
        base.instructions.clone_from(&new.instructions);
    }
    if wants("targets") {
        base.targets.clone_from(&new.targets);
    }
    if wants("effort_minutes") {
        base.effort_minutes = new.effort_minutes;
    }
    if wants("modality") {
        base.modality = new.modality;
    }
    if wants("requires_clinician") {
        base.requires_clinician = new.requires_clinician;
    }
    if wants("contraindications") {
        base.contraindications.clone_from(&new.contraindications);
    }
    if wants("min_days_between") {
        base.min_days_between = new.min_days_between;
    }
    if wants("evidence") {
        base.evidence.clone_from(&new.evidence);
    }
    if wants("prior_effect") {
        base.prior_effect = new.prior_effect;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_mask_replaces_every_field_and_a_mask_only_its_fields() {
        let base = pb::Intervention {
            id: "x".into(),
            display_name: "Old".into(),
            effort_minutes: 5,
            ..Default::default()
        };
        let new = pb::Intervention {
            id: "x".into(),
            display_name: "New".into(),
            effort_minutes: 10,
            ..Default::default()
        };
        let mut all = base.clone();
        apply_mask(&mut all, &new, &[]);
        assert_eq!(all, new);
        let mut one = base.clone();
        apply_mask(&mut one, &new, &["effort_minutes".into()]);
        assert_eq!(one.display_name, "Old");
        assert_eq!(one.effort_minutes, 10);
    }
}
