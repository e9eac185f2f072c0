//! Environment interpolation on the raw config text, before TOML parsing:
//! `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` for a literal `$`.
//!
//! Comments are left alone (a commented-out `${VAR}` is not an error). A value
//! substituted inside a basic string is escaped so that a secret containing `"`
//! or `\` cannot break the TOML. The result keeps a map back to the original
//! text, so errors found later still point at the line the operator wrote.

/// The interpolated text and how its offsets map back to the original.
#[derive(Debug)]
pub struct Interpolated {
    pub text: String,
    /// (offset in `text`, offset in the original, length of a verbatim run).
    /// Between runs lie substituted values; they map to their `${` in the original.
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    out: usize,
    orig: usize,
    len: usize,
    /// Where the substitution after this run started in the original text.
    subst_orig: Option<usize>,
}

impl Interpolated {
    /// Maps an offset in the interpolated text to the original text.
    pub fn original_offset(&self, offset: usize) -> usize {
        let mut last = 0;
        for run in &self.runs {
            if offset < run.out {
                return last;
            }
            if offset < run.out + run.len {
                return run.orig + (offset - run.out);
            }
            last = run.subst_orig.unwrap_or(run.orig + run.len);
        }
        last
    }
}

/// An interpolation problem at `offset` of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub offset: usize,
    pub message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code,
    Comment,
    Basic,
    MultiBasic,
    Literal,
    MultiLiteral,
}

/// Interpolates `text`, looking variables up with `env`. Returns every error found.
pub fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, Vec<InterpolationError>> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    let mut run_start = 0; // original offset where the current verbatim run began
    let mut run_out = 0; // its offset in `out`
    let mut lex = Lex::Code;
    let mut i = 0;

    while i < bytes.len() {
        let rest = &text[i..];
        match lex {
            Lex::Comment => {
                if bytes[i] == b'\n' {
                    lex = Lex::Code;
                }
                i += 1;
                continue;
            }
            Lex::Code => {
                if rest.starts_with('#') {
                    lex = Lex::Comment;
                } else if rest.starts_with("\"\"\"") {
                    lex = Lex::MultiBasic;
                    i += 3;
                    continue;
                } else if rest.starts_with('"') {
                    lex = Lex::Basic;
                } else if rest.starts_with("'''") {
                    lex = Lex::MultiLiteral;
                    i += 3;
                    continue;
                } else if rest.starts_with('\'') {
                    lex = Lex::Literal;
                }
                if !rest.starts_with('$') {
                    i += 1;
                    continue;
                }
            }
            Lex::Basic | Lex::MultiBasic => {
                if rest.starts_with('\\') {
                    i += 2;
                    continue;
                }
                if lex == Lex::MultiBasic && rest.starts_with("\"\"\"") {
                    lex = Lex::Code;
                    i += 3;
                    continue;
                }
                if lex == Lex::Basic && (rest.starts_with('"') || rest.starts_with('\n')) {
                    lex = Lex::Code;
                    i += 1;
                    continue;
                }
                if !rest.starts_with('$') {
                    i += 1;
                    continue;
                }
            }
            Lex::Literal | Lex::MultiLiteral => {
                if lex == Lex::MultiLiteral && rest.starts_with("'''") {
                    lex = Lex::Code;
                    i += 3;
                    continue;
                }
                if lex == Lex::Literal && (rest.starts_with('\'') || rest.starts_with('\n')) {
                    lex = Lex::Code;
                    i += 1;
                    continue;
                }
                if !rest.starts_with('$') {
                    i += 1;
                    continue;
                }
            }
        }

        // At a `$` outside a comment.
        let (consumed, replacement) = if rest.starts_with("$$") {
            (2, Ok("$".to_string()))
        } else if rest.starts_with("${") {
            match parse_reference(rest) {
                Some((len, reference)) => (len, resolve(&reference, env)),
                None => (
                    rest.len().min(2),
                    Err(
                        "unterminated `${`: write `${NAME}`, or `$$` for a literal `$`".to_string(),
                    ),
                ),
            }
        } else {
            i += 1;
            continue;
        };

        // Close the verbatim run before the `$`.
        let value = match replacement {
            Ok(value) => match escape_for(lex, &value) {
                Ok(v) => v,
                Err(message) => {
                    errors.push(InterpolationError { offset: i, message });
                    String::new()
                }
            },
            Err(message) => {
                errors.push(InterpolationError { offset: i, message });
                String::new()
            }
        };
        out.push_str(&text[run_start..i]);
        runs.push(Run {
            out: run_out,
            orig: run_start,
            len: i - run_start,
            subst_orig: Some(i),
        });
        out.push_str(&value);
        i += consumed;
        run_start = i;
        run_out = out.len();
    }
    out.push_str(&text[run_start..]);
    runs.push(Run {
        out: run_out,
        orig: run_start,
        len: text.len() - run_start,
        subst_orig: None,
    });

    if errors.is_empty() {
        Ok(Interpolated { text: out, runs })
    } else {
        Err(errors)
    }
}

struct Reference<'a> {
    name: &'a str,
    fallback: Fallback<'a>,
}

enum Fallback<'a> {
    None,
    Default(&'a str),
    Required(&'a str),
}

/// Parses `${NAME}`, `${NAME:-default}` or `${NAME:?message}` at the start of
/// `s`; returns its length in bytes.
fn parse_reference(s: &str) -> Option<(usize, Reference<'_>)> {
    let close = s.find('}')?;
    let inner = &s[2..close];
    if inner.contains('\n') {
        return None;
    }
    let (name, fallback) = if let Some((name, default)) = inner.split_once(":-") {
        (name, Fallback::Default(default))
    } else if let Some((name, message)) = inner.split_once(":?") {
        (name, Fallback::Required(message))
    } else {
        (inner, Fallback::None)
    };
    Some((close + 1, Reference { name, fallback }))
}

fn resolve(
    reference: &Reference<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let name = reference.name;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{name}` is not a valid environment variable name (letters, digits and _, not starting with a digit)"
        ));
    }
    let value = env(name).filter(|v| !v.is_empty());
    match (value, &reference.fallback) {
        (Some(v), _) => Ok(v),
        (None, Fallback::Default(d)) => Ok((*d).to_string()),
        (None, Fallback::Required(message)) => {
            Err(format!("environment variable {name} is not set: {message}"))
        }
        (None, Fallback::None) => Err(format!(
            "environment variable {name} is not set (write ${{{name}:-default}} to give a default)"
        )),
    }
}

/// Makes `value` safe to place where the `$` stood.
fn escape_for(lex: Lex, value: &str) -> Result<String, String> {
    match lex {
        Lex::Basic | Lex::MultiBasic => {
            let mut s = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    c if c.is_control() => s.push_str(&format!("\\u{:04X}", c as u32)),
                    c => s.push(c),
                }
            }
            Ok(s)
        }
        Lex::Literal if value.contains('\'') || value.contains('\n') => Err(
            "the substituted value contains a quote or newline and cannot go in a 'literal' string; use a \"basic\" string".into(),
        ),
        Lex::MultiLiteral if value.contains("'''") => {
            Err("the substituted value contains ''' and cannot go in a '''literal''' string".into())
        }
        _ => Ok(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.internal".into()),
            "QUOTED" => Some("a\"b\\c".into()),
            "EMPTY" => Some(String::new()),
            "APOS" => Some("it's".into()),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<String, Vec<InterpolationError>> {
        interpolate(text, &env).map(|i| i.text)
    }

    #[test]
    fn substitutes_defaults_and_literal_dollars() {
        assert_eq!(run("a = \"${HOST}\"").unwrap(), "a = \"db.internal\"");
        assert_eq!(run("a = \"${NOPE:-x}\"").unwrap(), "a = \"x\"");
        assert_eq!(run("a = \"${EMPTY:-x}\"").unwrap(), "a = \"x\"");
        assert_eq!(run("a = \"$$HOST $5\"").unwrap(), "a = \"$HOST $5\"");
        assert_eq!(run("n = ${PORT:-5432}").unwrap(), "n = 5432");
    }

    #[test]
    fn escapes_values_inside_basic_strings() {
        assert_eq!(run("a = \"${QUOTED}\"").unwrap(), r#"a = "a\"b\\c""#);
        assert_eq!(run("a = '${QUOTED}'").unwrap(), r#"a = 'a"b\c'"#);
        assert_eq!(run("a = '${APOS}'").unwrap_err().len(), 1);
    }

    #[test]
    fn comments_are_not_interpolated() {
        assert_eq!(
            run("# ${NOPE}\na = 1 # ${NOPE}\n").unwrap(),
            "# ${NOPE}\na = 1 # ${NOPE}\n"
        );
        assert_eq!(run("a = \"#${HOST}\"").unwrap(), "a = \"#db.internal\"");
    }

    #[test]
    fn every_error_is_reported_at_its_offset() {
        let text =
            "a = \"${ONE}\"\nb = \"${TWO:?set TWO to the key}\"\nc = \"${bad name}\"\nd = \"${X";
        let errors = run(text).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!(errors[0].offset, 5);
        assert!(errors[0].message.contains("ONE is not set"));
        assert!(errors[1].message.contains("set TWO to the key"));
        assert!(errors[2].message.contains("not a valid"));
        assert!(errors[3].message.contains("unterminated"));
    }

    #[test]
    fn offsets_map_back_to_the_original_text() {
        let text = "a = \"${HOST}\"\nb = 1";
        let i = interpolate(text, &env).unwrap();
        let b_out = i.text.find("b =").unwrap();
        assert_eq!(i.original_offset(b_out), text.find("b =").unwrap());
        // Inside the substituted value: points at the `${`.
        assert_eq!(i.original_offset(7), 5);
        assert_eq!(i.original_offset(0), 0);
    }
}
