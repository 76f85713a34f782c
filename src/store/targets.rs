//! Allocation targets per country or industry group, and which countries and industries make
//! up each group.

use rusqlite::{TransactionBehavior, params};

use super::portfolio::{AllowEmpty, refuse_empty};
use super::{Store, StoreError, now_iso};
use crate::domain::Decimal;

/// Whether a target or group is about countries or industries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "lowercase")]
pub enum TargetKind {
    Country,
    Industry,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(text: &str) -> rusqlite::Result<TargetKind> {
        text.parse().map_err(|_| {
            rusqlite::Error::InvalidColumnType(0, "kind".into(), rusqlite::types::Type::Text)
        })
    }
}

/// The target share of one group: a fraction 0–1 of the portfolio's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationTarget {
    pub kind: TargetKind,
    pub group: String,
    pub target: Decimal,
}

/// One country or industry and the group it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationGroup {
    pub kind: TargetKind,
    pub member: String,
    pub group: String,
}

impl Store {
    /// Makes `targets` the allocation targets, all or nothing. Each target must lie in 0..=1,
    /// and the targets of one kind must not add up to more than 1.
    pub fn replace_allocation_targets(
        &self,
        targets: &[AllocationTarget],
        allow_empty: AllowEmpty,
    ) -> Result<(), StoreError> {
        refuse_empty(targets.is_empty(), allow_empty, "allocation targets")?;
        let one = Decimal::from_i64(1);
        for kind in [TargetKind::Country, TargetKind::Industry] {
            let mut sum = Decimal::from_i64(0);
            let mut seen = std::collections::BTreeSet::new();
            for t in targets.iter().filter(|t| t.kind == kind) {
                if t.group.is_empty()
                    || t.target.is_negative()
                    || t.target > one
                    || !seen.insert(t.group.as_str())
                {
                    return Err(invalid_target(format!("{t:?}")));
                }
                sum = sum.checked_add(t.target)?;
            }
            if sum > one {
                return Err(invalid_target(format!(
                    "the {} targets add up to {sum}, more than 1",
                    kind.as_str()
                )));
            }
        }
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM allocation_targets", [])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO allocation_targets (kind, group_name, target, updated_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for t in targets {
                    insert.execute(params![t.kind.as_str(), t.group, t.target, now])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Every target, by kind then group.
    pub fn allocation_targets(&self) -> Result<Vec<AllocationTarget>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, group_name, target FROM allocation_targets ORDER BY kind, group_name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AllocationTarget {
                    kind: TargetKind::parse(&r.get::<_, String>(0)?)?,
                    group: r.get(1)?,
                    target: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Makes `groups` the group membership, all or nothing; a member may belong to one group
    /// of each kind.
    pub fn replace_allocation_groups(
        &self,
        groups: &[AllocationGroup],
        allow_empty: AllowEmpty,
    ) -> Result<(), StoreError> {
        refuse_empty(groups.is_empty(), allow_empty, "allocation groups")?;
        let mut seen = std::collections::BTreeSet::new();
        for g in groups {
            if g.member.is_empty() || g.group.is_empty() || !seen.insert((g.kind, &g.member)) {
                return Err(StoreError::Invalid {
                    what: "allocation group",
                    reason: format!("{g:?} is empty or its member appears twice"),
                });
            }
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM allocation_groups", [])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO allocation_groups (kind, member, group_name) VALUES (?1, ?2, ?3)",
                )?;
                for g in groups {
                    insert.execute(params![g.kind.as_str(), g.member, g.group])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Every membership, by kind then member.
    pub fn allocation_groups(&self) -> Result<Vec<AllocationGroup>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, member, group_name FROM allocation_groups ORDER BY kind, member",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AllocationGroup {
                    kind: TargetKind::parse(&r.get::<_, String>(0)?)?,
                    member: r.get(1)?,
                    group: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

fn invalid_target(reason: String) -> StoreError {
    StoreError::Invalid {
        what: "allocation targets",
        reason,
    }
}
