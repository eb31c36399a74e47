//! Human-readable ticket numbers, e.g. `K7QM-3XPA-9ZR`: ten Crockford base32 characters (no I, L,
//! O or U, so nothing reads as another) carrying 50 bits, then one check character.
//!
//! The 50 bits come from a database sequence passed through a fixed bijection of `[0, 2^50)`, so
//! numbers are unique by construction yet do not count up visibly. The check character is the
//! Damm algorithm over the quasigroup `x * y = 2x + y` of GF(32): it catches every single-character
//! error and every transposition of two adjacent characters (the check character included).

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Data characters in a number.
const DATA_CHARS: usize = 10;
const BITS: u32 = 50;
const MASK: u64 = (1 << BITS) - 1;

/// Why a typed ticket number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("a ticket number has 11 characters (dashes and spaces aside)")]
    Length,
    #[error("{0:?} is not a ticket-number character")]
    Character(char),
    #[error("the check character does not match: a character is mistyped")]
    Check,
}

/// Multiplication by `x` in GF(32) with the irreducible polynomial `x^5 + x^2 + 1`.
fn times_two(v: u8) -> u8 {
    let shifted = v << 1;
    if shifted & 0x20 != 0 {
        shifted ^ 0x25
    } else {
        shifted
    }
}

/// The Damm interim digit after `digits` (0 for a valid number with its check character).
fn damm(digits: impl IntoIterator<Item = u8>) -> u8 {
    digits
        .into_iter()
        .fold(0, |interim, d| times_two(interim) ^ d)
}

/// A fixed bijection of `[0, 2^50)`: odd multipliers and xor-shifts, each invertible.
fn scramble(n: u64) -> u64 {
    let mut x = n & MASK;
    x = x.wrapping_mul(0x2545_F491_4F6C_DD1D) & MASK;
    x ^= x >> 23;
    x = x.wrapping_mul(0x1B87_3593_D2C9_3A55) & MASK;
    x ^= x >> 27;
    x ^= 0x2_A5F3_9C1E_7B64 & MASK;
    x
}

/// The ticket number of sequence value `sequence` (unique for each value below 2^50).
pub fn from_sequence(sequence: u64) -> String {
    encode(scramble(sequence))
}

/// Formats 50 bits as `XXXX-XXXX-XXC` (C the check character).
pub fn encode(value: u64) -> String {
    let value = value & MASK;
    let digits: Vec<u8> = (0..DATA_CHARS)
        .rev()
        .map(|i| ((value >> (5 * i)) & 31) as u8)
        .collect();
    let check = times_two(damm(digits.iter().copied()));
    let chars: Vec<char> = digits
        .iter()
        .chain(std::iter::once(&check))
        .map(|&d| char::from(ALPHABET[usize::from(d)]))
        .collect();
    let mut out = String::with_capacity(13);
    for (i, c) in chars.iter().enumerate() {
        if i == 4 || i == 8 {
            out.push('-');
        }
        out.push(*c);
    }
    out
}

fn value_of(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Reads a typed ticket number (any case, with or without dashes and spaces; `O` read as `0`,
/// `I`/`L` as `1`), checks its check character and returns it in canonical form.
pub fn parse(text: &str) -> Result<String, NumberError> {
    let mut digits = Vec::with_capacity(DATA_CHARS + 1);
    for c in text.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
        digits.push(value_of(c).ok_or(NumberError::Character(c))?);
        if digits.len() > DATA_CHARS + 1 {
            return Err(NumberError::Length);
        }
    }
    if digits.len() != DATA_CHARS + 1 {
        return Err(NumberError::Length);
    }
    if damm(digits.iter().copied()) != 0 {
        return Err(NumberError::Check);
    }
    let value = digits[..DATA_CHARS]
        .iter()
        .fold(0u64, |acc, &d| (acc << 5) | u64::from(d));
    Ok(encode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(number: &str) -> Vec<char> {
        number.chars().filter(|c| *c != '-').collect()
    }

    #[test]
    fn numbers_are_short_grouped_and_round_trip() {
        let n = from_sequence(1);
        assert_eq!(n.len(), 13, "{n}");
        assert_eq!(n.matches('-').count(), 2);
        assert_eq!(parse(&n), Ok(n.clone()));
        assert_eq!(parse(&n.to_lowercase().replace('-', " ")), Ok(n.clone()));
        assert!(
            !n.contains(['I', 'L', 'O', 'U']),
            "ambiguous character in {n}"
        );
    }

    #[test]
    fn consecutive_sequences_give_distinct_unrelated_numbers() {
        let numbers: std::collections::HashSet<String> = (0..50_000).map(from_sequence).collect();
        assert_eq!(numbers.len(), 50_000);
        assert_ne!(from_sequence(1)[..4], from_sequence(2)[..4]);
    }

    #[test]
    fn every_single_character_error_is_caught() {
        for seq in (0..2_000).map(|s| s * 7919) {
            let chars = raw(&from_sequence(seq));
            for i in 0..chars.len() {
                for &a in ALPHABET {
                    let replacement = char::from(a);
                    if replacement == chars[i] {
                        continue;
                    }
                    let mut typo = chars.clone();
                    typo[i] = replacement;
                    let typo: String = typo.into_iter().collect();
                    assert!(parse(&typo).is_err(), "{typo} accepted");
                }
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_is_caught() {
        for seq in 0..20_000 {
            let chars = raw(&from_sequence(seq));
            for i in 0..chars.len() - 1 {
                if chars[i] == chars[i + 1] {
                    continue;
                }
                let mut swapped = chars.clone();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                assert_eq!(parse(&swapped), Err(NumberError::Check), "{swapped}");
            }
        }
    }

    #[test]
    fn wrong_lengths_and_characters_are_refused() {
        assert_eq!(parse("ABCD"), Err(NumberError::Length));
        assert_eq!(parse("ABCD-EFGH-JKU"), Err(NumberError::Character('U')));
        assert_eq!(parse(""), Err(NumberError::Length));
    }
}
