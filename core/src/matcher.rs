//! Event-name and resource-label matching, exactly as Prefect 3.9.1 does it.
//!
//! Prefect matches event names **twice, with two different languages**, and an event
//! must pass both (SEMANTICS.md quirk 11):
//!
//! | where | language | `*` | `?`, `[..]` | anchoring |
//! |---|---|---|---|---|
//! | index (`find_interested_triggers`), `expects`, `starts_after`, resource labels | [`fnmatch`] (`fnmatch.fnmatchcase`) | any run, **may be empty** | wildcards | whole name |
//! | `EventTrigger.covers` (`event_pattern`) | [`NamePrefixPattern`] (`re.escape(p).replace("\\*", ".+")`, `re.match`) | **one or more** characters other than `\n` | literal | **start only** |
//!
//! So `prefect.flow-run.*` does not cover `prefect.flow-run.` (`.+` needs a character),
//! `x.?` expects `x.a` but does not cover it (`?` is literal in the regex), and a
//! trigger expecting `x.a` covers `x.ab` by prefix but is never *offered* `x.ab`
//! because the index uses fnmatch.
//!
//! Everything here is allocation-free and iterative (no recursion, no regex engine).
//! [`CompiledEventTrigger`] bundles one trigger's matchers, packed into one byte
//! buffer; a [`RouteIndex`] finds the triggers interested in an event name: with
//! `alloc`, [`Router`] indexes many triggers by name, [`ScanRouter`] scans a few.

mod compiled;
mod route;
#[cfg(feature = "alloc")]
mod router;

pub use compiled::{CompiledEventTrigger, IndexKeys, PackedSpec, PackedStrs};
pub use route::{RouteIndex, ScanRouter};
#[cfg(feature = "alloc")]
pub use router::Router;

/// Python's `fnmatch.fnmatchcase(value, pattern)`: a whole-string, case-sensitive
/// shell-style match, character (not byte) based.
///
/// * `*` matches any run of characters, including none and including newlines;
/// * `?` matches exactly one character;
/// * `[seq]` one character in `seq`, `[!seq]` one not in it; `a-z` ranges compare
///   code points; a `]` right after `[` or `[!` is part of the set; a reversed range
///   such as `z-a` matches nothing (and its endpoints are dropped, as Python drops
///   them); a `[` without a closing `]` is a literal `[`;
/// * there is no escape character: `\` is literal.
///
/// Worst case `O(len(pattern) · len(value))` time, no allocation, no recursion.
pub fn fnmatch(pattern: &str, value: &str) -> bool {
    // Fast paths: the literal text before the first special character matches byte
    // for byte, and a pattern that continues with nothing but `*`s accepts any rest.
    let prefix = literal_prefix(pattern);
    if prefix.len() == pattern.len() {
        return pattern == value;
    }
    if !value.starts_with(prefix) {
        return false;
    }
    if pattern.as_bytes()[prefix.len()..]
        .iter()
        .all(|&b| b == b'*')
    {
        return true;
    }
    let (mut p, mut v) = (prefix.len(), prefix.len());
    // After a `*`: where the pattern resumes, and where the value resumes next time.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some((token, next_p)) = token_at(pattern, p) {
            if let Token::Star = token {
                star = Some((next_p, v));
                p = next_p;
                continue;
            }
            if let Some(c) = value[v..].chars().next() {
                if token.matches(c) {
                    p = next_p;
                    v += c.len_utf8();
                    continue;
                }
            }
        } else if v == value.len() {
            return true;
        }
        // Mismatch (or pattern exhausted with value left): let the last `*` take one
        // more character, if there is one.
        match star {
            Some((star_p, star_v)) => match value[star_v..].chars().next() {
                Some(c) => {
                    let resume = star_v + c.len_utf8();
                    star = Some((star_p, resume));
                    p = star_p;
                    v = resume;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Prefect's `events.matches(expected, value)`: a resource-label (and `expects` /
/// `starts_after` event-name) match.
///
/// `!pattern` negates: true when the value does **not** fnmatch `pattern`. A missing
/// value (`None`) never matches, not even a negated pattern (quirk 12).
#[inline]
pub fn label_matches(expected: &str, value: Option<&str>) -> bool {
    let Some(value) = value else {
        return false;
    };
    match expected.strip_prefix('!') {
        Some(positive) => !fnmatch(positive, value),
        None => fnmatch(expected, value),
    }
}

/// Whether `pattern` contains a character that fnmatch treats as special (`*`, `?`,
/// `[`). A pattern without them matches only the identical string.
#[inline]
pub fn has_wildcards(pattern: &str) -> bool {
    pattern.bytes().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// The literal text before the first `*`, `?` or `[` of an fnmatch pattern: every
/// value the pattern matches starts with it.
#[inline]
pub fn literal_prefix(pattern: &str) -> &str {
    match pattern.find(['*', '?', '[']) {
        Some(i) => &pattern[..i],
        None => pattern,
    }
}

/// One alternative of Prefect's `event_pattern` regex, matched without a regex engine.
///
/// Built from an `expect`/`after` pattern as Prefect builds it:
/// `re.escape(p).replace("\\*", ".+")`, applied with `re.match`. So every `*` stands
/// for one or more characters other than `\n` (Python's `.` excludes newlines), every
/// other character is literal (`?`, `[`, `!` included), and the match is anchored at
/// the **start only**: `x.a` matches the name `x.abc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamePrefixPattern<'p>(pub &'p str);

impl NamePrefixPattern<'_> {
    /// Whether `re.match(translated(pattern), name)` succeeds.
    pub fn matches(&self, name: &str) -> bool {
        let mut pieces = self.0.split('*');
        let first = pieces.next().unwrap_or("");
        let Some(mut pos) = name.strip_prefix(first).map(|_| first.len()) else {
            return false;
        };
        let greedy_is_exact = !self.0[first.len()..].contains('\n');
        if greedy_is_exact {
            for piece in pieces {
                match find_after_gap(name, pos, piece) {
                    Some(end) => pos = end,
                    None => return false,
                }
            }
            true
        } else {
            // A literal newline after a `*`: the earliest occurrence of a piece is no
            // longer always the best choice. Patterns like this are absurd for event
            // names; fall back to an exhaustive (bounded, non-recursive) search.
            matches_exhaustive(&self.0[first.len()..], name, pos)
        }
    }
}

/// The end of the earliest `.+piece` starting at `pos`: at least one character, none
/// of them `\n`, then `piece`. Taking the earliest is optimal when `piece` has no
/// newline: a later occurrence leaves less room and a gap that contains this one's.
fn find_after_gap(name: &str, pos: usize, piece: &str) -> Option<usize> {
    let first = name[pos..].chars().next()?;
    if first == '\n' {
        return None;
    }
    let search_from = pos + first.len_utf8();
    let found = search_from + name[search_from..].find(piece)?;
    if name[pos..found].contains('\n') {
        return None;
    }
    Some(found + piece.len())
}

/// Exhaustive version of the piece-by-piece search, for patterns with a newline after
/// their first `*`: a depth-first search over where each piece starts, with an explicit
/// stack (one slot per `*`, at most [`MAX_STARS_WITH_NEWLINE`]).
fn matches_exhaustive(rest: &str, name: &str, start: usize) -> bool {
    let mut pieces: [&str; MAX_STARS_WITH_NEWLINE] = [""; MAX_STARS_WITH_NEWLINE];
    let mut k = 0;
    for piece in rest.split('*').skip(1) {
        if k == MAX_STARS_WITH_NEWLINE {
            return false;
        }
        pieces[k] = piece;
        k += 1;
    }
    // cand[i]: the end of the gap before piece i (= where piece i is tried).
    let mut cand = [0usize; MAX_STARS_WITH_NEWLINE];
    let mut i = 0;
    if k == 0 {
        return true;
    }
    cand[0] = start;
    loop {
        // Widen the gap before piece i by one character (never across a newline).
        match name[cand[i]..].chars().next() {
            Some(c) if c != '\n' => cand[i] += c.len_utf8(),
            _ => {
                if i == 0 {
                    return false;
                }
                i -= 1;
                continue;
            }
        }
        if name[cand[i]..].starts_with(pieces[i]) {
            let end = cand[i] + pieces[i].len();
            i += 1;
            if i == k {
                return true;
            }
            cand[i] = end;
        }
    }
}

/// The most `*`s a covers pattern containing a newline may have (such patterns make
/// no sense as event names; beyond this they never match).
const MAX_STARS_WITH_NEWLINE: usize = 64;

/// One token of an fnmatch pattern.
enum Token<'p> {
    Star,
    Any,
    Literal(char),
    /// A bracket expression: its body (after `[` and an optional `!`) and negation.
    Class {
        body: &'p str,
        negated: bool,
    },
}

impl Token<'_> {
    #[inline]
    fn matches(&self, c: char) -> bool {
        match *self {
            Token::Star => true,
            Token::Any => true,
            Token::Literal(l) => l == c,
            Token::Class { body, negated } => class_contains(body, c) != negated,
        }
    }
}

/// The token at byte offset `p` and the offset after it; `None` at the end.
#[inline]
fn token_at(pattern: &str, p: usize) -> Option<(Token<'_>, usize)> {
    let c = pattern[p..].chars().next()?;
    let after = p + c.len_utf8();
    Some(match c {
        '*' => {
            // Consecutive stars are one star.
            let mut q = after;
            while pattern.as_bytes().get(q) == Some(&b'*') {
                q += 1;
            }
            (Token::Star, q)
        }
        '?' => (Token::Any, after),
        '[' => match class_end(pattern, after) {
            Some(close) => {
                let negated = pattern.as_bytes().get(after) == Some(&b'!');
                let body_start = if negated { after + 1 } else { after };
                (
                    Token::Class {
                        body: &pattern[body_start..close],
                        negated,
                    },
                    close + 1,
                )
            }
            None => (Token::Literal('['), after),
        },
        _ => (Token::Literal(c), after),
    })
}

/// The byte offset of the `]` closing a bracket expression whose content starts at
/// `start`, as `fnmatch.translate` finds it: skip a leading `!`, then a leading `]`,
/// then up to the next `]`.
fn class_end(pattern: &str, start: usize) -> Option<usize> {
    let b = pattern.as_bytes();
    let mut j = start;
    if b.get(j) == Some(&b'!') {
        j += 1;
    }
    if b.get(j) == Some(&b']') {
        j += 1;
    }
    b[j.min(b.len())..]
        .iter()
        .position(|&x| x == b']')
        .map(|i| j + i)
}

/// Membership of `c` in a bracket body (after the optional `!`), with Python's exact
/// range rules: hyphens are found left to right starting at the body's 2nd character,
/// each search resuming 3 characters after the previous hyphen; such a hyphen between
/// two characters makes a range; a hyphen that ends the body is literal; a reversed
/// range drops both endpoints; every other character is literal.
fn class_contains(body: &str, c: char) -> bool {
    let mut chars = body.chars();
    let mut idx = 0usize; // char index of the char in `cur`
    let mut search_from = 1usize; // char index where the next range hyphen may be
    let mut cur = chars.next();
    while let Some(ch) = cur {
        let mut ahead = chars.clone();
        let next1 = ahead.next();
        let next2 = ahead.next();
        if let (Some('-'), Some(hi)) = (next1, next2) {
            if idx + 1 >= search_from {
                if ch <= hi && ch <= c && c <= hi {
                    return true;
                }
                search_from = idx + 1 + 3;
                chars = ahead;
                idx += 3;
                cur = chars.next();
                continue;
            }
        }
        if ch == c {
            return true;
        }
        idx += 1;
        cur = chars.next();
    }
    false
}

#[cfg(test)]
mod tests;
