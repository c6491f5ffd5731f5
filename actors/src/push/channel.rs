//! Bayeux channel names and subscription patterns, and the index that finds every client
//! subscribed to a channel in O(depth of the channel) however many clients there are.
//!
//! Bayeux 1.0 §"Channels" (`#_bayeux_channels`): `channel_name = "/" segment *("/" segment)`, a
//! segment is alphanumeric plus the marks `- _ ! ~ ( ) $ @` (we also accept `.`, which CometD's
//! own servers accept and GMS tags use), and a wildcard may only be the last segment: `/a/*`
//! matches exactly one more segment, `/a/**` one or more, and neither matches `/a` itself.

use std::collections::{HashMap, HashSet};

/// Longest channel name we accept; Bayeux sets none, but an unbounded name is unbounded memory.
pub const MAX_CHANNEL_LEN: usize = 512;

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("the channel name is empty")]
    Empty,
    #[error("the channel name is longer than {MAX_CHANNEL_LEN} characters")]
    TooLong,
    #[error("a channel name starts with '/'")]
    NoLeadingSlash,
    #[error("a channel name has no empty segment")]
    EmptySegment,
    #[error("'{0}' is not allowed in a channel name")]
    BadCharacter(char),
    #[error("a wildcard may only be the last segment of a channel")]
    MisplacedWildcard,
    #[error("a wildcard is not allowed here: publish to a concrete channel")]
    WildcardNotAllowed,
}

/// What a subscription names: one channel, or a wildcard below a parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// `/a/b`
    Exact(String),
    /// `/a/*`: the parent is `/a` (the empty string for `/*`).
    OneLevel(String),
    /// `/a/**`: the parent is `/a` (the empty string for `/**`).
    Deep(String),
}

fn segment_ok(seg: &str) -> Result<(), ChannelError> {
    if seg.is_empty() {
        return Err(ChannelError::EmptySegment);
    }
    match seg
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_!~()$@.".contains(*c)))
    {
        Some(c) => Err(ChannelError::BadCharacter(c)),
        None => Ok(()),
    }
}

impl Pattern {
    /// Parses a channel name or a subscription pattern.
    pub fn parse(name: &str) -> Result<Pattern, ChannelError> {
        if name.is_empty() {
            return Err(ChannelError::Empty);
        }
        if name.len() > MAX_CHANNEL_LEN {
            return Err(ChannelError::TooLong);
        }
        let rest = name.strip_prefix('/').ok_or(ChannelError::NoLeadingSlash)?;
        let segments: Vec<&str> = rest.split('/').collect();
        let (last, parents) = match segments.split_last() {
            Some(split) => split,
            None => return Err(ChannelError::EmptySegment),
        };
        for seg in parents {
            if seg.contains('*') {
                return Err(ChannelError::MisplacedWildcard);
            }
            segment_ok(seg)?;
        }
        let parent = &name[..name.len() - last.len() - 1];
        match *last {
            "*" => Ok(Pattern::OneLevel(parent.to_string())),
            "**" => Ok(Pattern::Deep(parent.to_string())),
            seg if seg.contains('*') => Err(ChannelError::MisplacedWildcard),
            seg => {
                segment_ok(seg)?;
                Ok(Pattern::Exact(name.to_string()))
            }
        }
    }

    /// Parses a channel a message is published on: no wildcards.
    pub fn concrete(name: &str) -> Result<String, ChannelError> {
        match Pattern::parse(name)? {
            Pattern::Exact(c) => Ok(c),
            Pattern::OneLevel(_) | Pattern::Deep(_) => Err(ChannelError::WildcardNotAllowed),
        }
    }

    /// Whether this pattern matches the concrete `channel`.
    pub fn matches(&self, channel: &str) -> bool {
        match self {
            Pattern::Exact(c) => c == channel,
            Pattern::OneLevel(parent) => channel
                .strip_prefix(parent.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
            Pattern::Deep(parent) => channel
                .strip_prefix(parent.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| !rest.is_empty()),
        }
    }

    /// The pattern as a client wrote it.
    pub fn name(&self) -> String {
        match self {
            Pattern::Exact(c) => c.clone(),
            Pattern::OneLevel(p) => format!("{p}/*"),
            Pattern::Deep(p) => format!("{p}/**"),
        }
    }
}

/// `/meta/**`: the protocol's own channels, never broadcast (Bayeux §"Meta Channels").
pub fn is_meta(channel: &str) -> bool {
    channel == "/meta" || channel.starts_with("/meta/")
}

/// `/service/**`: request-reply channels, never broadcast nor recorded as subscriptions
/// (Bayeux §"Service Channels").
pub fn is_service(channel: &str) -> bool {
    channel == "/service" || channel.starts_with("/service/")
}

/// Clients subscribed to each pattern. Looking up a channel `/a/b/c` visits only `/a/b/c`,
/// `/a/b/*` and `/a/b/**`, `/a/**`, `/**`.
#[derive(Debug, Default)]
pub struct SubscriptionIndex {
    exact: HashMap<String, HashSet<String>>,
    one: HashMap<String, HashSet<String>>,
    deep: HashMap<String, HashSet<String>>,
}

impl SubscriptionIndex {
    fn map<'a>(
        &'a mut self,
        p: &'a Pattern,
    ) -> (&'a mut HashMap<String, HashSet<String>>, &'a str) {
        match p {
            Pattern::Exact(c) => (&mut self.exact, c),
            Pattern::OneLevel(c) => (&mut self.one, c),
            Pattern::Deep(c) => (&mut self.deep, c),
        }
    }

    pub fn insert(&mut self, p: &Pattern, client: &str) {
        let (map, key) = self.map(p);
        map.entry(key.to_string())
            .or_default()
            .insert(client.to_string());
    }

    pub fn remove(&mut self, p: &Pattern, client: &str) {
        let (map, key) = self.map(p);
        if let Some(set) = map.get_mut(key) {
            set.remove(client);
            if set.is_empty() {
                map.remove(key);
            }
        }
    }

    /// Whether any client has a subscription matching `channel`.
    pub fn has_subscribers(&self, channel: &str) -> bool {
        if self.exact.contains_key(channel) {
            return true;
        }
        let mut end = channel.rfind('/').unwrap_or(0);
        if self.one.contains_key(&channel[..end]) {
            return true;
        }
        loop {
            if self.deep.contains_key(&channel[..end]) {
                return true;
            }
            if end == 0 {
                return false;
            }
            end = channel[..end].rfind('/').unwrap_or(0);
        }
    }

    /// Every client with a subscription matching `channel` (once each).
    pub fn subscribers(&self, channel: &str) -> HashSet<&str> {
        let mut sets = vec![self.exact.get(channel)];
        // The parent of `/a/b/c` is `/a/b`: one-level wildcards only look there.
        let mut end = channel.rfind('/').unwrap_or(0);
        sets.push(self.one.get(&channel[..end]));
        loop {
            sets.push(self.deep.get(&channel[..end]));
            if end == 0 {
                break;
            }
            end = channel[..end].rfind('/').unwrap_or(0);
        }
        sets.into_iter()
            .flatten()
            .flat_map(|set| set.iter().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(Pattern::parse("/a/b"), Ok(Pattern::Exact("/a/b".into())));
        assert_eq!(Pattern::parse("/a/*"), Ok(Pattern::OneLevel("/a".into())));
        assert_eq!(Pattern::parse("/**"), Ok(Pattern::Deep(String::new())));
        assert_eq!(Pattern::parse("a/b"), Err(ChannelError::NoLeadingSlash));
        assert_eq!(Pattern::parse("/a//b"), Err(ChannelError::EmptySegment));
        assert_eq!(Pattern::parse("/a/"), Err(ChannelError::EmptySegment));
        assert_eq!(Pattern::parse("/*/b"), Err(ChannelError::MisplacedWildcard));
        assert_eq!(
            Pattern::parse("/a/b*"),
            Err(ChannelError::MisplacedWildcard)
        );
        assert_eq!(Pattern::parse("/a b"), Err(ChannelError::BadCharacter(' ')));
        assert_eq!(Pattern::parse(""), Err(ChannelError::Empty));
        assert_eq!(
            Pattern::concrete("/a/**"),
            Err(ChannelError::WildcardNotAllowed)
        );
        assert_eq!(
            Pattern::parse("/_genesys").map(|p| p.name()),
            Ok("/_genesys".into())
        );
    }

    #[test]
    fn wildcards_match_as_the_spec_says() {
        let one = Pattern::parse("/foo/*").unwrap();
        let deep = Pattern::parse("/foo/**").unwrap();
        assert!(one.matches("/foo/a") && !one.matches("/foo/a/b") && !one.matches("/foo"));
        assert!(deep.matches("/foo/a") && deep.matches("/foo/a/b") && !deep.matches("/foo"));
        assert!(
            !deep.matches("/foobar/a"),
            "a prefix of a segment is not a parent"
        );
    }

    #[test]
    fn index_finds_exact_and_wildcard_subscribers_once() {
        let mut ix = SubscriptionIndex::default();
        for (p, c) in [
            ("/a/b/c", "x"),
            ("/a/b/*", "y"),
            ("/a/**", "z"),
            ("/**", "w"),
            ("/a/*", "no"),
            ("/a/b/c", "y"),
        ] {
            ix.insert(&Pattern::parse(p).unwrap(), c);
        }
        let mut got: Vec<&str> = ix.subscribers("/a/b/c").into_iter().collect();
        got.sort_unstable();
        assert_eq!(got, ["w", "x", "y", "z"]);
        ix.remove(&Pattern::parse("/**").unwrap(), "w");
        assert!(!ix.subscribers("/q").contains("w"));
        assert!(ix.subscribers("/a/b").contains("no"));
    }
}
