//! The journal (SPEC section 9): one JSON line per chat request in arrival order, the last
//! `--journal-limit` of them, each findable by its generation id; and the request counters.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

/// The default of `--journal-limit`.
pub const DEFAULT_JOURNAL_LIMIT: usize = 100_000;

/// What `GET /routesim/stats` answers.
///
/// ```
/// let stats = routesim::serve::Stats::default();
/// assert_eq!(serde_json::to_string(&stats).unwrap(), r#"{"requests":0,"by_status":{},"journal_dropped":0}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Stats {
    /// Every chat-completion request received, whatever its answer (the k of the seed rule).
    pub requests: u64,
    /// Chat-completion answers by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Journal lines evicted because the journal was at its limit.
    pub journal_dropped: u64,
}

/// One kept entry: what its line is made from, serialized only when the journal is read.
#[derive(Debug)]
struct Line<T> {
    seq: u64,
    test_id: Option<String>,
    entry: T,
}

/// The bounded journal, in `seq` order, and the counters of `/routesim/stats`.
///
/// It keeps each request's data (`T`, the server's `Exchange`) rather than its JSON text, and
/// writes the lines when they are read: reads are rare, writes are every request. Serializing
/// each line on arrival was 27,500 of the 108,000 instructions a request cost under callgrind
/// (`routesim serve` on the 16-endpoint fixture, wrk at 4 connections); keeping the data costs
/// a move. Lines are found by `seq` (a generation id names its seq), so there is no id map.
#[derive(Debug)]
pub(crate) struct Journal<T> {
    limit: usize,
    lines: VecDeque<Line<T>>,
    stats: Stats,
}

impl<T> Journal<T> {
    pub(crate) fn new(limit: usize) -> Journal<T> {
        Journal {
            limit,
            lines: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Records an answered chat request: its status, and its entry at its place in arrival
    /// order, evicting the oldest at the limit. The evicted entry is returned, so that the
    /// caller can drop it after releasing the lock.
    pub(crate) fn record(
        &mut self,
        seq: u64,
        status: u16,
        test_id: Option<String>,
        entry: T,
    ) -> Option<T> {
        *self.stats.by_status.entry(status).or_insert(0) += 1;
        if self.limit == 0 {
            self.stats.journal_dropped += 1;
            return Some(entry);
        }
        let mut evicted = None;
        if self.lines.len() >= self.limit {
            if let Some(old) = self.lines.pop_front() {
                self.stats.journal_dropped += 1;
                evicted = Some(old.entry);
            }
        }
        // Answers come back nearly in arrival order: the place is almost always the end.
        // (Arrival indices are unique, so `>=` for `>` would find the same place.)
        let at = self.lines.len()
            - self
                .lines
                .iter()
                .rev()
                .take_while(|line| line.seq > seq)
                .count();
        self.lines.insert(
            at,
            Line {
                seq,
                test_id,
                entry,
            },
        );
        evicted
    }

    /// Every kept entry (of one test id, when given), in arrival order.
    pub(crate) fn entries<'j>(&'j self, test_id: Option<&'j str>) -> impl Iterator<Item = &'j T> {
        self.lines
            .iter()
            .filter(move |line| test_id.is_none() || line.test_id.as_deref() == test_id)
            .map(|line| &line.entry)
    }

    /// The entry of the request with arrival index `seq`, if still kept.
    pub(crate) fn find(&self, seq: u64) -> Option<&T> {
        let at = self.lines.partition_point(|line| line.seq < seq);
        self.lines
            .get(at)
            .filter(|line| line.seq == seq)
            .map(|line| &line.entry)
    }

    /// Forgets every line (the counters stay).
    pub(crate) fn clear(&mut self) {
        self.lines.clear();
    }

    /// The counters; `requests` is the caller's (an atomic counter, not under this lock).
    pub(crate) fn stats(&self, requests: u64) -> Stats {
        Stats {
            requests,
            ..self.stats.clone()
        }
    }
}

/// `time` as RFC 3339 UTC with milliseconds: `2026-12-01T23:00:00.123Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil algorithm: the proleptic Gregorian date of a day count
/// since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_print_as_utc_dates() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_547_200_123);
        assert_eq!(rfc3339(t), "2025-12-01T00:00:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    /// Every day from 1970 to 2517 against a calendar counted one day at a time.
    #[test]
    fn the_date_of_every_day_agrees_with_counting_the_days() {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let length = |y: i64, m: u32| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut y, mut m, mut d) = (1970, 1, 1);
        for day in 0..200_000 {
            assert_eq!(civil_from_days(day), (y, m, d), "day {day}");
            d += 1;
            if d > length(y, m) {
                (m, d) = (m + 1, 1);
                if m > 12 {
                    (y, m) = (y + 1, 1);
                }
            }
        }
    }

    fn text(j: &Journal<String>, test_id: Option<&str>) -> String {
        j.entries(test_id).map(|e| format!("{e}\n")).collect()
    }

    #[test]
    fn the_journal_keeps_the_last_lines_in_arrival_order() {
        let mut j = Journal::new(2);
        let mut evicted = Vec::new();
        for seq in [0, 2, 1] {
            evicted.extend(j.record(seq, 200, None, format!("{seq}")));
        }
        assert_eq!(
            text(&j, None),
            "1\n2\n",
            "line 0 was evicted, 1 and 2 sorted by arrival"
        );
        assert_eq!(evicted, ["0"], "the evicted entry goes back to the caller");
        assert_eq!(j.stats(3).journal_dropped, 1);
        assert_eq!(j.find(2).map(String::as_str), Some("2"));
        assert_eq!(j.find(0), None, "an evicted line cannot be found");
        assert_eq!(j.find(7), None, "nor one never recorded");
        assert_eq!(j.stats(3).by_status.get(&200), Some(&3));
        assert_eq!(j.stats(3).requests, 3);
    }

    #[test]
    fn a_test_id_filters_the_lines() {
        let mut j = Journal::new(10);
        j.record(0, 200, Some("a".into()), "x".to_string());
        j.record(1, 503, Some("b".into()), "y".to_string());
        assert_eq!(text(&j, Some("b")), "y\n");
        j.clear();
        assert_eq!(text(&j, None), "");
        assert_eq!(j.stats(2).by_status.len(), 2, "clearing keeps the counters");
    }

    #[test]
    fn a_zero_limit_keeps_nothing_but_counts() {
        let mut j = Journal::new(0);
        assert_eq!(
            j.record(0, 200, None, "x".to_string()).as_deref(),
            Some("x")
        );
        assert_eq!(text(&j, None), "");
        assert_eq!(j.stats(1).journal_dropped, 1);
    }
}
