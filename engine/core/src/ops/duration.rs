//! Durations as rule authors write them: `90d`, `12h`, `1d12h`, `2w`, `30m`, `45s`.

use chrono::Duration;

/// Parses a duration; the error says what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let err = || {
        format!(
            "invalid duration `{text}`: write a number and a unit, e.g. `90d`, `12h`, `1d12h` (units: s, m, h, d, w)"
        )
    };
    if t.is_empty() {
        return Err(err());
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| err())?;
        num.clear();
        let secs = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err()),
        };
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
    }
    if !num.is_empty() {
        return Err(err());
    }
    if total > 100 * 365 * 86_400 {
        return Err(format!("duration `{text}` is longer than 100 years"));
    }
    Ok(Duration::seconds(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok = [
            ("90d", 90 * 86_400),
            ("12h", 43_200),
            ("1d12h", 129_600),
            ("2w", 1_209_600),
            ("30m", 1_800),
            ("45s", 45),
            ("0d", 0),
        ];
        for (t, s) in ok {
            assert_eq!(parse_duration(t), Ok(Duration::seconds(s)), "{t}");
        }
        for bad in [
            "",
            "90",
            "d",
            "90x",
            "9.5d",
            "-1d",
            "99999999999999999999d",
            "1000000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
    }
}
