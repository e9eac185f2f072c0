//! Deterministic fake people shared by every simulator: person `n` has the same
//! name, email and phone in each of them, so one human appears in several
//! providers, as in real life, and the daemon's person linking has work to do.

/// One fake human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePerson {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
}

impl FakePerson {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Leslie",
    "Hedy",
    "Tim",
    "Katherine",
    "Linus",
    "Sophie",
    "John",
    "Mary",
    "Niklaus",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Lamport",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "Torvalds",
    "Wilson",
    "McCarthy",
    "Shaw",
    "Wirth",
];

/// Person number `n` (any number: names repeat, emails never do).
pub fn person(n: u64) -> FakePerson {
    let first = FIRST[(n % FIRST.len() as u64) as usize];
    let last = LAST[((n / FIRST.len() as u64) % LAST.len() as u64) as usize];
    FakePerson {
        first_name: first.to_string(),
        last_name: last.to_string(),
        email: format!(
            "{}.{}.{n}@example.com",
            first.to_lowercase(),
            last.to_lowercase().replace('-', "")
        ),
        phone: format!("+1415555{:04}", n % 10_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_is_the_same_person_and_emails_are_unique() {
        assert_eq!(person(42), person(42));
        let emails: std::collections::HashSet<String> =
            (0..1000).map(|n| person(n).email).collect();
        assert_eq!(emails.len(), 1000);
    }
}
