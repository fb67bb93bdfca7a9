//! HTTP/1.1 framing the test relays share ([`crate::faultproxy`], [`crate::keepalive`]): finding
//! the end of a head and reading one of its headers.

/// Where `needle` first starts in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of header `name` in a head (case-insensitive), the first one; the head's first
/// line (request or status line) is not a header.
pub(crate) fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
