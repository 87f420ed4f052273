//! Every CSV the product writes goes through this writer: a cell that a spreadsheet would read
//! as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with
//! a leading apostrophe, so opening an export never runs what a submitter typed (CSV
//! injection). The importer reverses it, so an export imports back exactly.

use std::borrow::Cow;
use std::io::Write;

const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written: an apostrophe before anything that starts like a formula. A cell that
/// already starts with an apostrophe gets one more, so [`restore`] can tell the two apart.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_START) || cell.starts_with('\'') {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`neutralise`].
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// A CSV writer (RFC 4180 quoting from the `csv` crate) that neutralises every cell.
pub struct Writer<W: Write>(csv::Writer<W>);

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Writer(csv::Writer::from_writer(out))
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> csv::Result<()> {
        self.0.write_record(
            cells
                .into_iter()
                .map(|c| neutralise(c.as_ref()).into_owned()),
        )
    }

    pub fn finish(self) -> csv::Result<W> {
        self.0
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_is_never_a_formula_and_reads_back_as_typed() {
        for typed in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "'quoted",
            "''",
            "plain",
            "",
        ] {
            let written = neutralise(typed);
            assert!(
                !written.starts_with(FORMULA_START),
                "{typed:?} -> {written:?}"
            );
            assert_eq!(restore(&written), typed);
        }
        assert_eq!(neutralise("plain"), "plain");
    }

    #[test]
    fn the_writer_quotes_and_neutralises_every_cell() {
        let mut w = Writer::new(Vec::new());
        w.row(["id", "title"]).unwrap();
        w.row(["1", "=cmd|' /C calc'!A0, \"quoted\""]).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "id,title\n1,\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\"\n"
        );
    }
}
