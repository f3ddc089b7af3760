//! The fingerprint of a trigger definition (snapshots match saved state to triggers
//! by it): FNV-1a 64 of the postcard encoding of the **normalized** definition, as
//! the owned [`Trigger`](super::Trigger) serializes it in binary formats. Computed
//! from a borrowed [`TriggerDef`] without allocating: the view is serialized in the
//! same shape (sets sorted and de-duplicated on the fly, a zero Proactive `within`
//! as 10 s) straight into the hash.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

use super::{Require, SpecDef, SpecDefs, Strs, TriggerDef, TriggerDefs};

/// FNV-1a (64 bit) as a postcard output: hashes an encoding without storing it.
struct Fnv1a(u64);

impl postcard::ser_flavors::Flavor for Fnv1a {
    type Output = u64;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<u64> {
        Ok(self.0)
    }
}

impl TriggerDef<'_> {
    /// The fingerprint snapshots match triggers by: equal for definitions that are
    /// equal after Prefect's normalization (set order and duplicates, a zero
    /// Proactive `within`), and the same value for the same trigger in every version
    /// of overdue (FNV-1a 64 of the postcard encoding of the validated owned
    /// [`Trigger`](super::Trigger)). Allocation-free.
    pub fn fingerprint(&self) -> u64 {
        // hashing never fails; 0 would only stand for a serializer error
        postcard::serialize_with_flavor(&Norm(*self), Fnv1a(0xcbf2_9ce4_8422_2325)).unwrap_or(0)
    }
}

/// A view serialized as the owned type's compact (binary) shape, normalized.
struct Norm<T>(T);

impl Serialize for Norm<TriggerDef<'_>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            TriggerDef::Event(e) => {
                s.serialize_newtype_variant("TriggerDef", 0, "Event", &Norm(*e))
            }
            TriggerDef::Compound(c) => {
                s.serialize_newtype_variant("TriggerDef", 1, "Compound", &Norm(*c))
            }
            TriggerDef::Sequence(q) => {
                s.serialize_newtype_variant("TriggerDef", 2, "Sequence", &Norm(*q))
            }
        }
    }
}

impl Serialize for Norm<super::EventTriggerDef<'_>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = &self.0;
        let mut st = s.serialize_struct("EventTriggerDef", 9)?;
        st.serialize_field("id", &e.id)?;
        st.serialize_field("match_", &Norm(e.match_))?;
        st.serialize_field("match_related", &Norm(e.match_related))?;
        st.serialize_field("after", &Set(e.after))?;
        st.serialize_field("expect", &Set(e.expect))?;
        st.serialize_field("for_each", &Set(e.for_each))?;
        st.serialize_field("posture", &e.posture)?;
        st.serialize_field("threshold", &e.threshold)?;
        st.serialize_field("within", &e.effective_within())?;
        st.end()
    }
}

impl Serialize for Norm<super::CompoundTriggerDef<'_>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.0;
        let mut st = s.serialize_struct("CompoundTriggerDef", 4)?;
        st.serialize_field("id", &c.id)?;
        st.serialize_field("require", &Norm(c.require))?;
        st.serialize_field("within", &c.within)?;
        st.serialize_field("triggers", &Norm(c.triggers))?;
        st.end()
    }
}

impl Serialize for Norm<super::SequenceTriggerDef<'_>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = &self.0;
        let mut st = s.serialize_struct("SequenceTriggerDef", 3)?;
        st.serialize_field("id", &q.id)?;
        st.serialize_field("within", &q.within)?;
        st.serialize_field("triggers", &Norm(q.triggers))?;
        st.end()
    }
}

impl Serialize for Norm<Require> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Require::Any => s.serialize_unit_variant("RequireDef", 0, "Any"),
            Require::All => s.serialize_unit_variant("RequireDef", 1, "All"),
            Require::AtLeast(n) => s.serialize_newtype_variant("RequireDef", 2, "AtLeast", &n),
        }
    }
}

impl Serialize for Norm<TriggerDefs<'_>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for child in self.0.iter() {
            seq.serialize_element(&Norm(child))?;
        }
        seq.end()
    }
}

impl Serialize for Norm<SpecDef<'_>> {
    /// A map label → patterns, in document order (patterns are not a set).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (label, patterns) in self.0.iter() {
            map.serialize_entry(label, &Norm(patterns))?;
        }
        map.end()
    }
}

impl Serialize for Norm<SpecDefs<'_>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for spec in self.0.iter() {
            seq.serialize_element(&Norm(spec))?;
        }
        seq.end()
    }
}

impl Serialize for Norm<Strs<'_>> {
    /// The strings as written.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for text in self.0.iter() {
            seq.serialize_element(text)?;
        }
        seq.end()
    }
}

/// A set: the strings sorted and unique.
struct Set<'a>(Strs<'a>);

impl Serialize for Set<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.sorted_unique().count()))?;
        for text in self.0.sorted_unique() {
            seq.serialize_element(text)?;
        }
        seq.end()
    }
}
