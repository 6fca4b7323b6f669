//! The scheduled backup inside `kura serve` (OPS-1): at each of `backup.times` in
//! `backup.time_zone` (daily at 03:00 Tokyo time by default; several a day if configured). The
//! job wakes every `backup.check_seconds`, reads the time from the injected `Clock`, and takes a
//! backup when the newest backup in the directory is older than the latest scheduled time that
//! has passed. So a slot missed while no Kura ran is caught up at the next check, and nodes that
//! share the backup directory do not both take the same slot's backup once one has finished.
//! The restore drill runs at each of `backup.drill_times` in the same zone, when the newest
//! recorded drill is older than the latest of those times. The keystore is backed up at each of
//! `backup.keystore_times` by the same rule against its own directory, and at every check its
//! backups older than `backup.keystore_keep_days` are deleted, here, in the copy directory and
//! in the bucket: their expiry is a promise of the deletion certificate, so it does not wait for
//! the next backup.

use super::{Backups, is_backup_id};
use crate::state::AppState;
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

/// When backups are due.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub times: Vec<Time>,
    pub zone: TimeZone,
    pub every: std::time::Duration,
}

impl Schedule {
    /// The backups' schedule from settings already checked by `Settings::check`; `None` when
    /// no time is configured.
    pub fn from_settings(settings: &crate::Settings) -> Option<Self> {
        Self::at(settings, &settings.backup.times)
    }

    /// The restore drill's schedule (`backup.drill_times`), in the backups' zone.
    pub fn drills(settings: &crate::Settings) -> Option<Self> {
        Self::at(settings, &settings.backup.drill_times)
    }

    /// The keystore backups' schedule (`backup.keystore_times`), in the backups' zone.
    pub fn keystore(settings: &crate::Settings) -> Option<Self> {
        Self::at(settings, &settings.backup.keystore_times)
    }

    fn at(settings: &crate::Settings, times: &[String]) -> Option<Self> {
        let times: Vec<Time> = times.iter().filter_map(|t| parse_time(t)).collect();
        if times.is_empty() {
            return None;
        }
        let zone = TimeZone::get(&settings.backup.time_zone).ok()?;
        Some(Self { times, zone, every: std::time::Duration::from_secs(u64::from(settings.backup.check_seconds)) })
    }

    /// The latest scheduled time at or before `now`.
    pub fn latest_slot(&self, now: Timestamp) -> Option<Timestamp> {
        let today = now.to_zoned(self.zone.clone()).date();
        let yesterday = today.yesterday().ok()?;
        [today, yesterday]
            .into_iter()
            .flat_map(|day| self.times.iter().filter_map(move |t| day.to_datetime(*t).to_zoned(self.zone.clone()).ok()))
            .map(|z| z.timestamp())
            .filter(|slot| *slot <= now)
            .max()
    }
}

impl Schedule {
    /// The `n`th scheduled time after `now` (the first is `n = 1`); `None` for `n = 0`.
    pub fn nth_slot_after(&self, now: Timestamp, n: u32) -> Option<Timestamp> {
        let n = usize::try_from(n).ok()?.checked_sub(1)?;
        let today = now.to_zoned(self.zone.clone()).date();
        // `times` holds at least one time a day, so `n + 2` days hold the slot sought.
        let mut slots: Vec<Timestamp> = (0..=n + 1)
            .filter_map(|d| today.checked_add(jiff::Span::new().days(i64::try_from(d).ok()?)).ok())
            .flat_map(|day| self.times.iter().filter_map(move |t| day.to_datetime(*t).to_zoned(self.zone.clone()).ok()))
            .map(|z| z.timestamp())
            .filter(|slot| *slot > now)
            .collect();
        slots.sort();
        slots.dedup();
        slots.get(n).copied()
    }
}

/// `HH:MM` (24-hour).
pub fn parse_time(text: &str) -> Option<Time> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

impl Backups {
    /// The time of the newest complete backup, from its id.
    pub fn newest_time(&self) -> Option<Timestamp> {
        let id = self.complete_ids().ok()?.pop()?;
        id_time(&id)
    }

    /// Whether a backup is due at `now` under `schedule`.
    pub fn due(&self, schedule: &Schedule, now: Timestamp) -> bool {
        match schedule.latest_slot(now) {
            Some(slot) => self.newest_time().is_none_or(|newest| newest < slot),
            None => false,
        }
    }
}

/// The time a backup id names (`20261206T201912.123456Z`); `None` for anything else.
pub fn id_time(id: &str) -> Option<Timestamp> {
    if !is_backup_id(id) {
        return None;
    }
    let text = format!("{}-{}-{}T{}:{}:{}Z", &id[0..4], &id[4..6], &id[6..8], &id[9..11], &id[11..13], &id[13..22]);
    text.parse().ok()
}

/// What `kura serve` runs on its own: each schedule may be off; the keystore backups' expiry
/// always runs, every `every`.
#[derive(Clone, Debug)]
pub struct Schedules {
    pub backups: Option<Schedule>,
    pub drills: Option<Schedule>,
    pub keystore: Option<Schedule>,
    /// How often the schedules are checked and expired keystore backups deleted.
    pub every: std::time::Duration,
}

impl Schedules {
    pub fn from_settings(settings: &crate::Settings) -> Self {
        Self {
            backups: Schedule::from_settings(settings),
            drills: Schedule::drills(settings),
            keystore: Schedule::keystore(settings),
            every: std::time::Duration::from_secs(u64::from(settings.backup.check_seconds)),
        }
    }
}

/// How long the schedule waits before it tries a failed backup again.
const RETRY_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// Takes the scheduled backups and runs the scheduled restore drills until the process ends,
/// each recorded in the platform's log. A failed backup is logged and recorded, and tried again
/// after 15 minutes; a failed drill at its next time.
pub async fn run_schedule(state: AppState, schedules: Schedules) {
    let Schedules { backups, drills, keystore, every } = schedules;
    let every =
        [&backups, &drills, &keystore].into_iter().flatten().map(|s| s.every).chain([every]).min().unwrap_or(every);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: skip it, so that a short-lived server takes no backup.
    tick.tick().await;
    // A failed backup is tried again, but not at every check: each try is an entry in the
    // platform's log.
    let mut failed_at: Option<Timestamp> = None;
    let mut keystore_failed_at: Option<Timestamp> = None;
    loop {
        tick.tick().await;
        let now = state.clock.now();
        // First the keystore's expired backups go: nothing that follows may delay that.
        super::expire_keystore(&state).await;
        let resting = keystore_failed_at.is_some_and(|at| now < at + RETRY_AFTER);
        if let Some(schedule) = &keystore
            && !resting
            && state.keystore_backups.due(schedule, now)
        {
            let made = super::take_keystore(&state, super::schedule_actor()).await;
            keystore_failed_at = made.is_err().then_some(now);
            match made {
                Ok(made) => {
                    tracing::info!(backup = %made.id, bytes = made.stored_bytes, "scheduled keystore backup made")
                }
                Err(e) => tracing::error!(error = %e, "the scheduled keystore backup failed"),
            }
        }
        let resting = failed_at.is_some_and(|at| now < at + RETRY_AFTER);
        if let Some(schedule) = &backups
            && !resting
            && state.backups.due(schedule, now)
        {
            let made = super::take(&state, super::schedule_actor()).await;
            failed_at = made.is_err().then_some(now);
            match made {
                Ok(made) => {
                    tracing::info!(backup = %made.id, bytes = made.stored_bytes, deleted = made.deleted.len(), "scheduled backup made");
                    for e in [
                        &made.copy.as_ref().and_then(|c| c.as_ref().err().map(|e| e.to_string())),
                        &made.remote.as_ref().and_then(|c| c.as_ref().err().cloned()),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        tracing::error!(backup = %made.id, error = %e, "a copy of the scheduled backup failed");
                    }
                }
                Err(e) => tracing::error!(error = %e, "the scheduled backup failed"),
            }
        }
        if let Some(schedule) = &drills
            && let Some(slot) = schedule.latest_slot(state.clock.now())
            && super::last_drill(&state.store).await.is_none_or(|(at, _)| at < slot)
        {
            // The result, good or bad, is recorded and logged by the drill itself.
            let _ = super::drill(&state, super::schedule_actor()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn ops_1_the_latest_slot_follows_the_configured_times_in_their_zone() {
        let times = ["03:00", "09:00", "15:00", "21:00"].iter().filter_map(|t| parse_time(t)).collect();
        let s =
            Schedule { times, zone: TimeZone::get("Asia/Tokyo").unwrap(), every: std::time::Duration::from_secs(60) };
        // 03:00 JST is 18:00 UTC the day before.
        assert_eq!(s.latest_slot(ts("2026-12-06T18:30:00Z")), Some(ts("2026-12-06T18:00:00Z")));
        assert_eq!(s.latest_slot(ts("2026-12-06T17:59:59Z")), Some(ts("2026-12-06T12:00:00Z")));
        assert_eq!(parse_time("3:00"), None);
        assert_eq!(parse_time("24:00"), None);
        assert_eq!(id_time("20261206T201912.000123Z"), Some(ts("2026-12-06T20:19:12.000123Z")));
    }

    #[test]
    fn ops_1_the_nth_slot_after_now_counts_the_scheduled_times_ahead() {
        let times = ["03:00", "15:00"].iter().filter_map(|t| parse_time(t)).collect();
        let s =
            Schedule { times, zone: TimeZone::get("Asia/Tokyo").unwrap(), every: std::time::Duration::from_secs(60) };
        // 2026-12-07 10:00 JST: next 15:00 JST, then 03:00 and 15:00 the next day.
        let now = ts("2026-12-07T01:00:00Z");
        assert_eq!(s.nth_slot_after(now, 1), Some(ts("2026-12-07T06:00:00Z")));
        assert_eq!(s.nth_slot_after(now, 2), Some(ts("2026-12-07T18:00:00Z")));
        assert_eq!(s.nth_slot_after(now, 5), Some(ts("2026-12-09T06:00:00Z")));
        assert_eq!(s.nth_slot_after(now, 0), None);
        // A slot exactly now is not ahead.
        assert_eq!(s.nth_slot_after(ts("2026-12-07T06:00:00Z"), 1), Some(ts("2026-12-07T18:00:00Z")));
    }
}
