//! Prefect's validators on a borrowed definition ([`TriggerDef::validate`]): the
//! checks only, the definition is not changed.

use super::def::{Field, Path};
use super::{
    check_require, is_uuid, EventTriggerDef, Posture, Require, TriggerDef, TriggerDefs,
    TriggerError, TriggerErrorKind, PROACTIVE_MIN_WITHIN,
};
use crate::error::Text;

impl TriggerDef<'_> {
    /// Checks the trigger as Prefect's validators do, recursively, without changing
    /// it: rejects a Proactive `within` between 0 and 10 s, a `require` outside
    /// `1..=children`, an empty `triggers` list, an `id` that is not a UUID. The
    /// errors (path and kind) are those of [`Trigger::validate`](super::Trigger).
    pub fn validate(&self) -> Result<(), TriggerError> {
        self.validate_at(&Path::Root(""))
    }

    pub(crate) fn validate_at(&self, path: &Path<'_>) -> Result<(), TriggerError> {
        match self {
            TriggerDef::Event(t) => t.validate_at(path),
            TriggerDef::Compound(t) => {
                check_id(t.id, path)?;
                validate_children(t.triggers, path)?;
                if let Require::AtLeast(n) = t.require {
                    check_require(i64::from(n), t.triggers.len(), path)?;
                }
                Ok(())
            }
            TriggerDef::Sequence(t) => {
                check_id(t.id, path)?;
                validate_children(t.triggers, path)
            }
        }
    }
}

impl EventTriggerDef<'_> {
    fn validate_at(&self, path: &Path<'_>) -> Result<(), TriggerError> {
        check_id(self.id, path)?;
        if self.posture == Posture::Proactive
            && !self.within.is_zero()
            && self.within < PROACTIVE_MIN_WITHIN
        {
            return Err(TriggerError::at(
                Field(path, "within"),
                TriggerErrorKind::ProactiveWithinTooShort(self.within),
            ));
        }
        Ok(())
    }
}

fn validate_children(children: TriggerDefs<'_>, path: &Path<'_>) -> Result<(), TriggerError> {
    if children.is_empty() {
        return Err(TriggerError::at(
            Field(path, "triggers"),
            TriggerErrorKind::NoChildren,
        ));
    }
    for (i, child) in children.iter().enumerate() {
        child.validate_at(&Path::Child(path, i))?;
    }
    Ok(())
}

fn check_id(id: Option<&str>, path: &Path<'_>) -> Result<(), TriggerError> {
    match id {
        Some(text) if !is_uuid(text) => Err(TriggerError::at(
            Field(path, "id"),
            TriggerErrorKind::InvalidId(Text::from(text)),
        )),
        _ => Ok(()),
    }
}
