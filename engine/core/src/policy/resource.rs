//! Sets of resources written as IAM wildcard patterns, compared with each other: whether two
//! patterns have a resource in common ([`intersects`]) and whether one holds every resource of
//! the other ([`subsumes`]). Used to ask "does this statement act on some role", "on every
//! role", "does this Deny remove all of it" against the catalog's resource-type ARN patterns.
//!
//! ARNs are compared field by field (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`) when both
//! patterns have all six fields, since a real ARN never has a `:` in its first five fields: so
//! `arn:aws:lambda:*:*:layer:*` and `arn:*:lambda:*:*:function:*` share nothing, although a
//! `*` could in principle swallow `x:layer`. A pattern with fewer fields (`arn:*`, `*`) is
//! compared as a whole string. Resources are case-sensitive, as in IAM.

/// Whether some string matches both `a` and `b` (`*` any run, `?` one character).
pub fn glob_intersects(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // reach[i][j]: a[..i] and b[..j] can both produce the same string (with `*` runs open).
    let w = b.len() + 1;
    let mut reach = vec![false; (a.len() + 1) * w];
    let idx = |i: usize, j: usize| i * w + j;
    if let Some(r) = reach.get_mut(0) {
        *r = true;
    }
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach.get(idx(i, j)).copied().unwrap_or(false) {
                continue;
            }
            let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
            let mut set = |ii: usize, jj: usize| {
                if let Some(r) = reach.get_mut(idx(ii, jj)) {
                    *r = true;
                }
            };
            if ca == Some('*') {
                set(i + 1, j); // the star matches nothing more
                if cb.is_some() {
                    set(i, j + 1); // the star absorbs b's next element
                }
            }
            if cb == Some('*') {
                set(i, j + 1);
                if ca.is_some() {
                    set(i + 1, j);
                }
            }
            if let (Some(x), Some(y)) = (ca, cb) {
                if x != '*' && y != '*' && (x == '?' || y == '?' || x == y) {
                    set(i + 1, j + 1);
                }
            }
        }
    }
    reach.get(idx(a.len(), b.len())).copied().unwrap_or(false)
}

/// Whether every string `b` matches is matched by `a`. Sound, not complete: `true` only when
/// `a` matches `b` read as text in which `b`'s `*` may only be matched by a `*` of `a` and
/// `b`'s `?` by a `?` or `*` of `a` (enough for the patterns policies and the catalog use).
pub fn glob_subsumes(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut reach = vec![false; (a.len() + 1) * w];
    let idx = |i: usize, j: usize| i * w + j;
    if let Some(r) = reach.get_mut(0) {
        *r = true;
    }
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach.get(idx(i, j)).copied().unwrap_or(false) {
                continue;
            }
            let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
            let mut set = |ii: usize, jj: usize| {
                if let Some(r) = reach.get_mut(idx(ii, jj)) {
                    *r = true;
                }
            };
            match ca {
                Some('*') => {
                    set(i + 1, j);
                    if cb.is_some() {
                        set(i, j + 1);
                    }
                }
                Some('?') if cb.is_some_and(|c| c != '*') => set(i + 1, j + 1),
                Some(x) if cb == Some(x) && x != '*' && x != '?' => set(i + 1, j + 1),
                _ => {}
            }
        }
    }
    reach.get(idx(a.len(), b.len())).copied().unwrap_or(false)
}

fn fields(arn: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6 && parts.first() == Some(&"arn")).then_some(parts)
}

/// Whether the resource patterns `a` and `b` have a resource in common.
pub fn intersects(a: &str, b: &str) -> bool {
    match (fields(a), fields(b)) {
        (Some(x), Some(y)) => x.iter().zip(&y).all(|(p, q)| glob_intersects(p, q)),
        _ => glob_intersects(a, b),
    }
}

/// Whether every resource of pattern `b` is a resource of pattern `a` (sound, see
/// [`glob_subsumes`]).
pub fn subsumes(a: &str, b: &str) -> bool {
    match (fields(a), fields(b)) {
        (Some(x), Some(y)) => x.iter().zip(&y).all(|(p, q)| glob_subsumes(p, q)),
        _ => glob_subsumes(a, b),
    }
}

/// `type_arn` (a catalog ARN pattern such as `arn:*:iam::*:role/*`) narrowed to the partition,
/// region and account `pattern` names literally: "every role of the account `pattern` is
/// about". `arn:aws:iam::123456789012:role/*` then covers every role of its account.
pub fn within_account_of(type_arn: &str, pattern: &str) -> String {
    let (Some(t), Some(p)) = (fields(type_arn), fields(pattern)) else {
        return type_arn.to_string();
    };
    let pick = |i: usize| {
        let (tv, pv) = (t.get(i).copied().unwrap_or("*"), p.get(i).copied());
        match pv {
            Some(v) if !v.contains(['*', '?']) && tv.contains('*') => v,
            _ => tv,
        }
    };
    format!(
        "arn:{}:{}:{}:{}:{}",
        pick(1),
        t.get(2).copied().unwrap_or("*"),
        pick(3),
        pick(4),
        t.get(5).copied().unwrap_or("*")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersections() {
        let cases = [
            ("*", "arn:aws:s3:::b", true),
            ("arn:aws:iam::*:role/*", "arn:*:iam::*:role/*", true),
            ("arn:aws:iam::*:user/*", "arn:*:iam::*:role/*", false),
            (
                "arn:aws:lambda:*:*:layer:*",
                "arn:*:lambda:*:*:function:*",
                false,
            ),
            (
                "arn:aws:lambda:*:*:function:*",
                "arn:*:lambda:*:*:function:*",
                true,
            ),
            ("arn:*", "arn:*:iam::*:policy/*", true),
            ("arn:aws:s3:::bucket", "arn:*:iam::*:user/*", false),
            ("a?c", "*b*", true),
            ("a?c", "abd", false),
            ("", "*", true),
            ("", "a", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(intersects(a, b), want, "{a} ∩ {b}");
            assert_eq!(intersects(b, a), want, "{b} ∩ {a}");
        }
    }

    #[test]
    fn subsumption() {
        let cases = [
            ("*", "arn:*:iam::*:role/*", true),
            ("arn:*", "arn:*:iam::*:role/*", true),
            ("arn:aws:iam::*:*", "arn:aws:iam::*:role/*", true),
            ("arn:aws:iam::*:role/*", "arn:aws:iam::*:role/*", true),
            ("arn:aws:iam::*:role/app-*", "arn:aws:iam::*:role/*", false),
            ("arn:aws:iam::*:role/*", "arn:*:iam::*:role/*", false),
            ("a?", "a*", false),
            ("a*", "a?", true),
            ("ab", "a?", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(subsumes(a, b), want, "{a} ⊇ {b}");
        }
    }

    #[test]
    fn narrowing_to_an_account() {
        assert_eq!(
            within_account_of("arn:*:iam::*:role/*", "arn:aws:iam::123456789012:role/*"),
            "arn:aws:iam::123456789012:role/*"
        );
        assert_eq!(
            within_account_of("arn:*:iam::*:role/*", "arn:*"),
            "arn:*:iam::*:role/*"
        );
        assert_eq!(
            within_account_of("arn:*:iam::*:role/*", "arn:aws:iam::*:*"),
            "arn:aws:iam::*:role/*"
        );
    }
}
