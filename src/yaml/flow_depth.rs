//! Measures how deep flow collections (`[`, `{`) nest, without parsing: libyaml's scanner spends
//! time proportional to the flow depth on every token, so a 1 MiB file of brackets would take
//! hours; checking the depth first keeps any input linear.
//!
//! The scan follows libyaml's token rules where they decide what a bracket is: quoted scalars
//! (with their escapes), comments, plain scalars (which end at `: ` and, inside flow
//! collections, at `,[]{}`), and block scalars (`|`, `>`, whose content is every line indented
//! past the key or `-` that owns them). Where it cannot tell, it counts a bracket rather than
//! skip it, so it may overstate the depth of odd documents but does not understate plain ones.

/// The deepest flow nesting in `text`, with the 1-based line where it is first reached.
pub(super) fn deepest(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut depth, mut max, mut max_line) = (0usize, 0usize, 1usize);
    let mut line = 1usize;
    let mut i = 0usize;
    let mut at_line_start = true;
    let mut line_start = 0usize;
    // The column of the last `key:` or `- ` on the line: a block scalar or a multi-line plain
    // scalar continues on the lines indented past it (libyaml's current block indent).
    let mut owner: Option<usize> = None;
    // Column where the last scalar token started (a key, once `:` follows it).
    let mut token_col = 0usize;
    // Inside a block-context plain scalar that may continue on the next lines: its owner.
    let mut plain_owner: Option<Option<usize>> = None;
    let blank = |c: u8| c == b' ' || c == b'\t';
    let blankz = |i: usize| i >= b.len() || matches!(b[i], b' ' | b'\t' | b'\n' | b'\r');
    let flow_indicator = |c: u8| matches!(c, b',' | b'[' | b']' | b'{' | b'}');

    while i < b.len() {
        if at_line_start {
            at_line_start = false;
            if depth == 0 {
                let mut j = i;
                while j < b.len() && blank(b[j]) {
                    j += 1;
                }
                let col = j - i;
                let empty = j >= b.len() || matches!(b[j], b'\n' | b'\r');
                if col == 0
                    && (b[i..].starts_with(b"---") || b[i..].starts_with(b"..."))
                    && blankz(i + 3)
                {
                    plain_owner = None;
                    owner = None;
                    i += 3;
                    continue;
                }
                if let Some(own) = plain_owner {
                    if !empty && b[j] != b'#' && own.is_none_or(|o| col > o) {
                        // A continuation line of a plain scalar.
                        i = skip_plain_block(b, j);
                        if i < b.len() && b[i] == b':' {
                            plain_owner = None;
                            owner = Some(col);
                            i += 1;
                        } else if i < b.len() && b[i] != b'\n' {
                            plain_owner = None;
                        }
                        continue;
                    }
                    if !empty {
                        plain_owner = None;
                    }
                }
                owner = None;
                i = j;
                continue;
            }
        }
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                line_start = i;
                at_line_start = true;
            }
            b'\r' | b' ' | b'\t' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    max = depth;
                    max_line = line;
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b',' if depth > 0 => i += 1,
            b'\'' | b'"' => {
                token_col = i - line_start;
                let quote = c;
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' if quote == b'"' => i += 1,
                        b'\'' if quote == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 1,
                        q if q == quote => break,
                        b'\n' => {
                            line += 1;
                            line_start = i + 1;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' | b'?' | b':' if blankz(i + 1) || (depth > 0 && c != b'-') => {
                if depth == 0 {
                    owner = Some(if c == b':' { token_col } else { i - line_start });
                }
                i += 1;
            }
            b'|' | b'>' if depth == 0 => {
                i = skip_block_scalar(b, i, owner, &mut line);
            }
            b'&' | b'*' | b'!' => {
                while !(blankz(i) || depth > 0 && flow_indicator(b[i])) {
                    i += 1;
                }
            }
            _ => {
                // A plain scalar.
                token_col = i - line_start;
                if depth == 0 {
                    i = skip_plain_block(b, i);
                    if i < b.len() && b[i] == b':' {
                        owner = Some(token_col);
                        i += 1;
                    } else if i >= b.len() || b[i] == b'\n' {
                        plain_owner = Some(owner);
                    }
                } else {
                    i = skip_plain_flow(b, i, &mut line, &mut line_start);
                }
            }
        }
    }
    (max, max_line)
}

/// Skips a block scalar from its `|` or `>`: the header line, then every line that is empty or
/// indented past `owner` and at least as far as the first content line. Returns the position
/// of the newline that ends it (or the end of the text).
fn skip_block_scalar(b: &[u8], mut i: usize, owner: Option<usize>, line: &mut usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    let mut content_indent: Option<usize> = None;
    while i < b.len() {
        // `i` is at the newline ending the previous line.
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        let indent = j - start;
        let empty = j >= b.len() || matches!(b[j], b'\n' | b'\r');
        if !empty {
            let ends =
                owner.is_some_and(|o| indent <= o) || content_indent.is_some_and(|c| indent < c);
            if ends {
                return i;
            }
            content_indent.get_or_insert(indent);
        }
        if j >= b.len() {
            return j;
        }
        *line += 1;
        i = j;
        while i < b.len() && b[i] != b'\n' {
            i += 1;
        }
    }
    i
}

/// Skips a block-context plain scalar on this line: up to `: `, ` #` or the line end.
fn skip_plain_block(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        let next_blank = i + 1 >= b.len() || matches!(b[i + 1], b' ' | b'\t' | b'\n' | b'\r');
        if b[i] == b':' && next_blank {
            return i;
        }
        if matches!(b[i], b' ' | b'\t') && b.get(i + 1) == Some(&b'#') {
            return i;
        }
        i += 1;
    }
    i
}

/// Skips a plain scalar inside a flow collection: it may span lines and ends at `,[]{}`, at a
/// `:` followed by a blank or an indicator, or at ` #`.
fn skip_plain_flow(b: &[u8], mut i: usize, line: &mut usize, line_start: &mut usize) -> usize {
    while i < b.len() {
        match b[i] {
            b',' | b'[' | b']' | b'{' | b'}' => return i,
            b':' if i + 1 >= b.len()
                || matches!(
                    b[i + 1],
                    b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}'
                ) =>
            {
                return i;
            }
            b' ' | b'\t' if b.get(i + 1) == Some(&b'#') => return i,
            b'\n' => {
                *line += 1;
                *line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::deepest;

    #[test]
    fn brackets_nest_and_close() {
        assert_eq!(deepest("a: [[1], {b: [2]}]").0, 3);
        assert_eq!(deepest("[[[]]]\n[]").0, 3);
        assert_eq!(deepest("models: []").0, 1);
    }

    #[test]
    fn brackets_in_strings_comments_and_scalars_do_not_count() {
        assert_eq!(deepest("a: '[[[' # [[[\nb: \"[[\\\"[\"").0, 0);
        assert_eq!(deepest("a: x[[[\nb: it's [[\nc: don''t").0, 0);
        assert_eq!(deepest("a: |\n  [[[\n  '\nb: 1").0, 0);
        // In flow context a plain scalar ends at a bracket, so `b[c]` nests.
        assert_eq!(deepest("[a b[c], 'x]]]', \"]]\"]").0, 2);
    }

    #[test]
    fn a_quote_inside_a_plain_scalar_hides_nothing() {
        // `don't` is plain text, so the brackets on the next line are real.
        let (depth, line) = deepest("a: don't\nb: [[[1]]]\nc: '");
        assert_eq!((depth, line), (3, 2));
        // A continuation line of a plain scalar starting with a quote is still plain.
        assert_eq!(deepest("- a\n  'b\n- [[[1]]]").0, 3);
    }

    #[test]
    fn a_block_scalar_ends_at_a_line_not_indented_past_its_key() {
        let text = "- key: |\n   '\n  b: [[[1]]]\n";
        assert_eq!(deepest(text).0, 3);
        let text = "a:\n  b: >\n    [[[\n  c: [[1]]\n";
        assert_eq!(deepest(text).0, 2);
    }

    #[test]
    fn deep_json_is_measured() {
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(500), "]".repeat(500));
        assert_eq!(deepest(&deep), (501, 1));
    }
}
