//! The log viewers' listing and counting (LOG-1): a filter read as parts, each a page of an
//! index in the viewer's order, opened and matched where SQL cannot compare sealed values.

use super::AuditFilter;
use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use kura_domain::{AuditEntry, AuditScope};

/// What a listing matches on opened entries, beyond what SQL can compare on stored ones: the
/// actor's label (a case-insensitive part of it) and the exact target (the index narrows the
/// rows, but two targets may share a normal form).
struct OpenedFilter {
    actor: Option<String>,
    target: Option<String>,
}

impl OpenedFilter {
    fn new(filter: &AuditFilter) -> Self {
        Self { actor: actor_text(filter), target: filter.target.clone() }
    }
    /// Whether SQL alone decides the listing (no entry needs to be opened to be matched).
    fn is_empty(&self) -> bool {
        self.actor.is_none() && self.target.is_none()
    }
    fn matches(&self, e: &AuditEntry) -> bool {
        self.actor.as_ref().is_none_or(|a| e.actor.label.to_lowercase().contains(a.as_str()))
            && self.target.as_ref().is_none_or(|t| e.target.as_ref() == Some(t))
    }
}

/// The actor filter's text, trimmed and lower-cased; `None` when blank.
fn actor_text(filter: &AuditFilter) -> Option<String> {
    filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_lowercase)
}

/// Listing limits: 0 means the default.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
/// Entries read per round trip while matching opened entries (listing or counting by actor).
const SCAN_PAGE: usize = 500;
/// The most principals an actor filter looks up by id; a text that names more is matched on
/// every opened entry instead (it is then common enough to fill a page quickly).
const MAX_ACTOR_IDS: usize = 200;

/// How one part of a listing is read: the SQL conditions and what is matched on opened entries.
struct Part<'a> {
    params: sql::audit_list::ListParams<'a>,
    opened: OpenedFilter,
}

impl Store {
    /// The entries of `scope`'s chain that match `filter`, newest first (by time, then number),
    /// opened: a tenant's sealed actor labels, user agents, targets and details are opened with
    /// its key. Time, operation, outcome, address and target (by its index) are matched in SQL,
    /// each from an index. The actor is matched by the principals (users, API keys, operators)
    /// whose name or address contains the text, deleted users included, by their ids, plus the
    /// entries without an actor id (anonymous attempts, the command line, jobs) whose recorded
    /// label contains it; a text that names no principal is compared with every entry's
    /// recorded label.
    pub async fn audit_entries(&self, scope: AuditScope, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = if filter.limit == 0 { DEFAULT_LIMIT } else { filter.limit.clamp(1, MAX_LIMIT) } as usize;
        let sealer = self.audit_sealer(scope).await?;
        let index = self.target_index(sealer.as_ref(), filter);
        let Some(after) = self.listing_position(scope, filter).await? else { return Ok(Vec::new()) };
        let ids = self.actor_ids(scope, filter).await?;
        let mut out: Vec<AuditEntry> = Vec::new();
        for mut part in parts(filter, &index, after, ids.as_deref()) {
            // Once the page is full, a later part only reads what is newer than its oldest
            // entry: an actor's entries by id bound the scan of the entries without one.
            if out.len() == limit {
                part.params.floor = out.last().map(|e| (e.at.as_microsecond(), e.seq));
            }
            out.extend(self.collect(scope, sealer.as_ref(), part, limit, None).await?.0);
            out.sort_by_key(|e| std::cmp::Reverse((e.at, e.seq)));
            out.truncate(limit);
        }
        Ok(out)
    }

    /// How many entries match `filter`, whatever its paging and limit.
    pub async fn audit_count(&self, scope: AuditScope, filter: &AuditFilter) -> Result<u64, StoreError> {
        self.audit_count_up_to(scope, filter, None).await
    }

    /// [`Store::audit_count`], counting at most `cap` entries (`None`: all), so that a viewer
    /// over millions of entries can say "more than …" at the cost of `cap` index entries.
    pub async fn audit_count_up_to(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
        cap: Option<u64>,
    ) -> Result<u64, StoreError> {
        let sealer = self.audit_sealer(scope).await?;
        let index = self.target_index(sealer.as_ref(), filter);
        let ids = self.actor_ids(scope, filter).await?;
        let mut n = 0u64;
        for part in parts(filter, &index, None, ids.as_deref()) {
            let left = cap.map(|c| c.saturating_sub(n));
            if left == Some(0) {
                break;
            }
            n += if part.opened.is_empty() {
                sql::audit_list::count(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, &part.params, left)
                    .await?
            } else {
                self.collect(scope, sealer.as_ref(), part, 0, left).await?.1
            };
        }
        Ok(cap.map_or(n, |c| n.min(c)))
    }

    /// Reads one part of a listing page after page, opening the entries, until `limit` match
    /// (0: no list is kept) or `count_cap` have been counted, or the chain is read. Returns the
    /// matches kept and how many matched.
    async fn collect(
        &self,
        scope: AuditScope,
        sealer: Option<&crate::vault::Sealer>,
        mut part: Part<'_>,
        limit: usize,
        count_cap: Option<u64>,
    ) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let page = if part.opened.is_empty() && limit > 0 { limit } else { limit.max(SCAN_PAGE) };
        part.params.limit = page as i64;
        let mut out = Vec::new();
        let mut n = 0u64;
        loop {
            let rows = sql::audit_list::list(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, &part.params)
                .await?;
            let full = rows.len() == page;
            for mut entry in rows {
                part.params.after = Some((entry.at.as_microsecond(), entry.seq));
                if let Some(sealer) = sealer {
                    sealer.open_audit(&mut entry)?;
                }
                if part.opened.matches(&entry) {
                    n += 1;
                    if limit > 0 {
                        out.push(entry);
                        if out.len() == limit {
                            return Ok((out, n));
                        }
                    }
                    if count_cap == Some(n) {
                        return Ok((out, n));
                    }
                }
            }
            if !full || (part.opened.is_empty() && limit > 0) {
                return Ok((out, n));
            }
        }
    }

    /// Where a listing continues: after the entry `filter.before_seq` names (its time and
    /// number); `Some(None)` from the newest; `None` when nothing can follow (a number below 2).
    async fn listing_position(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Option<Option<(i64, i64)>>, StoreError> {
        let Some(seq) = filter.before_seq else { return Ok(Some(None)) };
        if seq < 2 {
            return Ok(None);
        }
        let at = sql::audit_list::position(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, seq).await?;
        // Beyond the head: every entry comes before it.
        Ok(Some(Some((at.unwrap_or(i64::MAX), seq))))
    }

    /// The ids of the principals an actor filter names: the users and API keys of the tenant,
    /// the users it deleted (their email and name as they were, kept sealed by the deletion in
    /// `departed_principals`), and the operators, whose address or name contains the text
    /// (case-insensitively). `None` when there is no actor filter, or when the text names none
    /// (an address typed at a failed sign-in, a name no principal ever had: every entry's label
    /// is then compared) or more than [`MAX_ACTOR_IDS`] (common enough to fill a page quickly
    /// that way).
    async fn actor_ids(&self, scope: AuditScope, filter: &AuditFilter) -> Result<Option<Vec<uuid::Uuid>>, StoreError> {
        let Some(text) = actor_text(filter) else { return Ok(None) };
        let has = |s: &str| s.to_lowercase().contains(text.as_str());
        let mut ids: Vec<uuid::Uuid> =
            self.operators().await?.iter().filter(|o| has(o.email.as_str())).map(|o| o.id.as_uuid()).collect();
        if let AuditScope::Tenant(tenant) = scope {
            for u in self.users(tenant).await? {
                if has(u.email.as_str()) || has(u.display_name.as_str()) {
                    ids.push(u.id.as_uuid());
                }
            }
            for k in self.api_keys(tenant).await? {
                if has(k.name.as_str()) {
                    ids.push(k.id.as_uuid());
                }
            }
            // Deleted users: their entries keep their ids, which only this table still names.
            let sealer = self.sealer(tenant).await?;
            let departed =
                sql::departed::all(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, &sealer).await?;
            for d in departed {
                if has(d.label.as_str()) || d.display_name.as_deref().is_some_and(has) {
                    ids.push(d.id);
                }
            }
        }
        Ok((!ids.is_empty() && ids.len() <= MAX_ACTOR_IDS).then_some(ids))
    }

    /// How a chain's entries are opened: a tenant's with its sealer, the platform's as stored.
    pub(super) async fn audit_sealer(&self, scope: AuditScope) -> Result<Option<crate::vault::Sealer>, StoreError> {
        match scope {
            AuditScope::Tenant(tenant) => Ok(Some(self.sealer(tenant).await?)),
            AuditScope::Platform => Ok(None),
        }
    }

    /// The index a listing looks `filter`'s target up by: the tenant's, or for the platform's
    /// chain (no index) none (empty), so that only its plain targets are looked up.
    fn target_index(&self, sealer: Option<&crate::vault::Sealer>, filter: &AuditFilter) -> Vec<u8> {
        match (sealer, filter.target.as_deref()) {
            (Some(sealer), Some(target)) => sealer.audit_target_index(target),
            _ => Vec::new(),
        }
    }
}

/// The parts a listing is read in, each answered from an index in the viewer's order and
/// merged by the caller; no entry is in two parts. Without an actor or target filter, one:
/// every condition in SQL. A target adds a part per way of finding it (by its index in the
/// scope, by its plain form for entries without an index). An actor filter naming principals
/// adds a part per way as well: the named principals' entries by id (their label not compared:
/// it is the name they had then), and the entries without an actor id whose label contains the
/// text; naming none or too many, the label is matched on every opened entry.
fn parts<'a>(
    filter: &'a AuditFilter,
    index: &'a [u8],
    after: Option<(i64, i64)>,
    ids: Option<&'a [uuid::Uuid]>,
) -> Vec<Part<'a>> {
    use sql::audit_list::{ActorIds, ListParams, TargetMatch};
    let params = ListParams {
        from: filter.from,
        to: filter.to,
        operation: filter.operation,
        outcome: filter.outcome,
        source_ip: filter.source_ip.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        target: None,
        actor: None,
        after,
        floor: None,
        limit: 0,
    };
    let targets = match filter.target.as_deref() {
        None => vec![None],
        // The platform's chain has no index: its targets are plain.
        Some(target) if index.is_empty() => vec![Some(TargetMatch::Plain(target))],
        Some(target) => vec![Some(TargetMatch::Index(index)), Some(TargetMatch::Plain(target))],
    };
    let opened = || OpenedFilter::new(filter);
    let mut parts = Vec::new();
    for target in targets {
        let params = ListParams { target, ..params };
        match ids {
            None => parts.push(Part { params, opened: opened() }),
            Some(ids) => {
                parts.push(Part {
                    params: ListParams { actor: Some(ActorIds::Any(ids)), ..params },
                    opened: OpenedFilter { actor: None, ..opened() },
                });
                parts.push(Part { params: ListParams { actor: Some(ActorIds::None), ..params }, opened: opened() });
            }
        }
    }
    parts
}
