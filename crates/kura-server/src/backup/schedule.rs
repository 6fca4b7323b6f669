//! The scheduled backup inside `kura serve` (OPS-1): at each of `backup.times` in
//! `backup.time_zone` (daily at 03:00 Tokyo time by default; several a day if configured). The
//! job wakes every `backup.check_seconds`, reads the time from the injected `Clock`, and takes a
//! backup when the newest backup in the directory is older than the latest scheduled time that
//! has passed. So a slot missed while no Kura ran is caught up at the next check, and nodes that
//! share the backup directory do not both take the same slot's backup once one has finished.

use super::{Backups, is_backup_id};
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use kura_domain::Clock;
use kura_store::Vault;
use std::sync::Arc;

/// When backups are due.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub times: Vec<Time>,
    pub zone: TimeZone,
    pub every: std::time::Duration,
}

impl Schedule {
    /// The schedule from settings already checked by `Settings::check`; `None` when no time is
    /// configured.
    pub fn from_settings(settings: &crate::Settings) -> Option<Self> {
        let times: Vec<Time> = settings.backup.times.iter().filter_map(|t| parse_time(t)).collect();
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

/// The time a backup id names (`20261206T201912.123456Z`).
fn id_time(id: &str) -> Option<Timestamp> {
    if !is_backup_id(id) {
        return None;
    }
    let text = format!("{}-{}-{}T{}:{}:{}Z", &id[0..4], &id[4..6], &id[6..8], &id[9..11], &id[11..13], &id[13..22]);
    text.parse().ok()
}

/// Takes the scheduled backups until the process ends. A failure is logged and tried again at
/// the next check.
pub async fn run_schedule(backups: Backups, vault: Arc<Vault>, clock: Arc<dyn Clock>, schedule: Schedule) {
    let mut tick = tokio::time::interval(schedule.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: skip it, so that a short-lived server takes no backup.
    tick.tick().await;
    loop {
        tick.tick().await;
        if !backups.due(&schedule, clock.now()) {
            continue;
        }
        match backups.make(&vault, &*clock).await {
            Ok(made) => {
                tracing::info!(backup = %made.id, bytes = made.stored_bytes, deleted = made.deleted.len(), "scheduled backup made");
                if let Some(Err(e)) = &made.copy {
                    tracing::error!(backup = %made.id, error = %e, "the scheduled backup's copy failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "the scheduled backup failed"),
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

    /// Waits (real time, briefly) until `dir` holds `n` complete backups.
    async fn wait_for(backups: &Backups, n: usize) {
        for _ in 0..500 {
            if backups.complete_ids().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no backup {n} came");
    }

    #[tokio::test]
    async fn ops_1_the_scheduled_job_takes_a_backup_when_the_injected_clock_passes_a_time() {
        use kura_store::testing::{test_db, test_keystore, test_vault};
        let db = test_db().await;
        let keystore = test_keystore(&db).await;
        let vault = test_vault(&keystore).await;
        // 02:00 in Tokyo: the day's 03:00 backup is an hour away.
        let clock = Arc::new(kura_domain::ManualClock::new(ts("2026-12-06T17:00:00Z")));
        let store = kura_store::Store::open(&db.url, clock.clone(), kura_store::StoreOptions::default()).await.unwrap();
        store.close().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = crate::Settings::default();
        settings.database_url = crate::settings::Secret::new(db.url.clone());
        settings.data_dir = dir.path().join("data");
        settings.backup.dir = Some(dir.path().join("backups"));
        settings.audit.signing_key_file = Some(dir.path().join("signing.key"));
        let backups = Backups::new(&settings);
        let schedule =
            Schedule { every: std::time::Duration::from_millis(20), ..Schedule::from_settings(&settings).unwrap() };
        let job = tokio::spawn(run_schedule(backups.clone(), vault, clock.clone(), schedule));

        // No backup yet: yesterday's 03:00 was missed, so one is taken at once.
        wait_for(&backups, 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(backups.complete_ids().unwrap(), ["20261206T170000.000000Z"], "nothing more until 03:00");
        clock.set(ts("2026-12-06T18:00:01Z"));
        wait_for(&backups, 2).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(backups.complete_ids().unwrap().len(), 2, "one backup per scheduled time");
        job.abort();
    }
}
