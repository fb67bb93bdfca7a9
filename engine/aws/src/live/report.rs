//! The IAM credential report: CSV in, typed rows out (pure).
//!
//! `N/A`, `no_information` and `not_supported` mean "absent". Rows name access keys by slot
//! (1, 2), not by id; [`match_key_slots`] maps slots to key ids by creation time.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// One access-key slot of a report row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeySlot {
    /// `access_key_N_active`.
    pub active: bool,
    /// `access_key_N_last_rotated`: the key's creation time, to the second.
    pub last_rotated: Option<DateTime<Utc>>,
    /// `access_key_N_last_used_date`.
    pub last_used: Option<DateTime<Utc>>,
    /// `access_key_N_last_used_region`.
    pub last_used_region: Option<String>,
    /// `access_key_N_last_used_service`.
    pub last_used_service: Option<String>,
}

/// One row of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    /// `user` (`<root_account>` for root).
    pub user: String,
    /// `arn`.
    pub arn: String,
    /// `password_enabled`.
    pub password_enabled: bool,
    /// `password_last_used`.
    pub password_last_used: Option<DateTime<Utc>>,
    /// `password_last_changed`.
    pub password_last_changed: Option<DateTime<Utc>>,
    /// `mfa_active`.
    pub mfa_active: bool,
    /// Slots 1 and 2.
    pub keys: [KeySlot; 2],
}

impl ReportRow {
    /// Whether the user holds at least one access key (active or not).
    pub fn has_keys(&self) -> bool {
        self.keys
            .iter()
            .any(|k| k.last_rotated.is_some() || k.active)
    }
}

fn absent(v: &str) -> bool {
    matches!(v.trim(), "" | "N/A" | "no_information" | "not_supported")
}

fn time(v: &str) -> Option<DateTime<Utc>> {
    if absent(v) {
        return None;
    }
    DateTime::parse_from_rfc3339(v.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn text(v: &str) -> Option<String> {
    (!absent(v)).then(|| v.trim().to_string())
}

/// Splits one CSV line (fields may be double-quoted, with `""` for a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Parses the report. Unknown columns are ignored; a missing required column is an error.
pub fn parse(csv: &str) -> Result<Vec<ReportRow>, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = split_csv(lines.next().ok_or("the credential report is empty")?);
    let col: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    for required in ["user", "arn", "password_enabled", "mfa_active"] {
        if !col.contains_key(required) {
            return Err(format!("the credential report has no `{required}` column"));
        }
    }
    let mut rows = Vec::new();
    for line in lines {
        let f = split_csv(line);
        let get = |name: &str| -> &str {
            col.get(name)
                .and_then(|&i| f.get(i))
                .map(String::as_str)
                .unwrap_or("N/A")
        };
        let slot = |n: u8| KeySlot {
            active: get(&format!("access_key_{n}_active")) == "true",
            last_rotated: time(get(&format!("access_key_{n}_last_rotated"))),
            last_used: time(get(&format!("access_key_{n}_last_used_date"))),
            last_used_region: text(get(&format!("access_key_{n}_last_used_region"))),
            last_used_service: text(get(&format!("access_key_{n}_last_used_service"))),
        };
        rows.push(ReportRow {
            user: get("user").to_string(),
            arn: get("arn").to_string(),
            password_enabled: get("password_enabled") == "true",
            password_last_used: time(get("password_last_used")),
            password_last_changed: time(get("password_last_changed")),
            mfa_active: get("mfa_active") == "true",
            keys: [slot(1), slot(2)],
        });
    }
    Ok(rows)
}

/// For each listed key (id, creation time), the report slot that describes it: the slot whose
/// `last_rotated` equals the key's creation time at second precision. Keys no slot matches get
/// `None` (their last use is then unknown).
pub fn match_key_slots<'a>(
    row: &'a ReportRow,
    keys: &[(String, DateTime<Utc>)],
) -> Vec<Option<&'a KeySlot>> {
    let mut used = [false, false];
    keys.iter()
        .map(|(_, created)| {
            let secs = created.timestamp();
            let i = row.keys.iter().enumerate().position(|(i, s)| {
                !used.get(i).copied().unwrap_or(true)
                    && s.last_rotated.map(|t| t.timestamp()) == Some(secs)
            })?;
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
            row.keys.get(i)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-10-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
alice,arn:aws:iam::123456789012:user/alice,2026-01-01T10:00:00+00:00,true,no_information,2026-01-01T10:00:00+00:00,N/A,false,true,2026-01-02T00:00:00+00:00,2026-10-30T12:00:00+00:00,us-east-1,s3,true,2026-06-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n";

    #[test]
    fn parses_rows_and_absent_markers() {
        let rows = match parse(CSV) {
            Ok(r) => r,
            Err(e) => unreachable!("{e}"),
        };
        assert_eq!(rows.len(), 2);
        let root = &rows[0];
        assert_eq!(root.user, "<root_account>");
        assert!(root.mfa_active && !root.password_enabled && !root.has_keys());
        let alice = &rows[1];
        assert!(alice.password_enabled && alice.password_last_used.is_none());
        assert_eq!(alice.keys[0].last_used_service.as_deref(), Some("s3"));
        assert!(alice.keys[1].last_used.is_none() && alice.keys[1].last_used_region.is_none());
        assert!(alice.has_keys());
    }

    #[test]
    fn slots_map_to_keys_by_creation_second() {
        let rows = match parse(CSV) {
            Ok(r) => r,
            Err(e) => unreachable!("{e}"),
        };
        let t = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc));
        let (Ok(a), Ok(b)) = (t("2026-06-01T00:00:00.734Z"), t("2026-01-02T00:00:00.120Z")) else {
            unreachable!()
        };
        // Listed newest first: the mapping follows creation time, not position.
        let m = match_key_slots(&rows[1], &[("K2".into(), a), ("K1".into(), b)]);
        assert_eq!(
            m[0].and_then(|s| s.last_rotated),
            t("2026-06-01T00:00:00Z").ok()
        );
        assert_eq!(
            m[1].and_then(|s| s.last_used_region.clone()),
            Some("us-east-1".into())
        );
        assert!(parse("").is_err());
        assert!(parse("user,arn\nx,y").is_err());
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(split_csv(r#"a,"b,c","d""e""#), vec!["a", "b,c", "d\"e"]);
    }
}
