"""Evidence-first answers without a model: units with exact offsets, table rows with headers, the facts check,
choosing the quote on generated manuals (a PDF torque table, a DOCX parts table) and on a real one."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldmind.answers.check import facts, facts_supported, faithful, unsupported_facts
from fieldmind.answers.quote import Quote
from fieldmind.answers.units import split_units
from fieldmind.assistant import NOT_FOUND_ANSWER, Assistant, QuoteReady, SourcesReady

from conftest import APCUPSD
from helpers import make_pdf

PAGE = """5.1 Changing the engine oil
The oil change interval is every 250 operating hours or every 6 months, whichever comes
first. Use SAE 15W-40 oil (API CK-4); the capacity is 3.8 litres.
1. Run the engine for 5 minutes to warm the oil, then stop it.
2. Remove the drain plug and let the oil drain
   completely into a container.
Fastener | Torque | Stages
Cylinder head bolts | 38 N·m | 2 stages
Oil drain plug | 25 N·m | 1 stage
Dispose of used oil at an approved collection point."""


def test_units_are_sentences_items_and_rows_at_their_exact_offsets() -> None:
    spans = split_units(PAGE)
    texts = [(s.kind, PAGE[s.start : s.end]) for s in spans]
    assert texts[0] == ("heading", "5.1 Changing the engine oil")
    assert (
        "sentence",
        "The oil change interval is every 250 operating hours or every 6 months, whichever comes\nfirst.",
    ) in texts
    assert ("sentence", "Use SAE 15W-40 oil (API CK-4); the capacity is 3.8 litres.") in texts
    assert ("item", "2. Remove the drain plug and let the oil drain\n   completely into a container.") in texts
    rows = [s for s in spans if s.kind == "row"]
    assert [PAGE[s.start : s.end] for s in rows] == [
        "Cylinder head bolts | 38 N·m | 2 stages",
        "Oil drain plug | 25 N·m | 1 stage",
    ]
    assert all(s.header is not None and PAGE[s.header[0] : s.header[1]] == "Fastener | Torque | Stages" for s in rows)
    assert texts[-1] == ("sentence", "Dispose of used oil at an approved collection point.")


@given(st.text(alphabet=string.ascii_letters + string.digits + " .,:;|-•\n\t", max_size=400))
def test_every_unit_is_a_verbatim_trimmed_stretch_of_the_page(text: str) -> None:
    for span in split_units(text):
        unit = text[span.start : span.end]
        assert unit and unit == unit.strip() and 0 <= span.start < span.end <= len(text)


def test_the_facts_check_accepts_rewording_and_refuses_any_new_number_unit_or_identifier() -> None:
    quote = "Cylinder head bolts | 38 N·m | 2 stages. Use oil filter NW-OF-2210 and set BATTERYLEVEL to 5 percent."
    assert facts_supported("Tighten the head bolts to 38 N·m in 2 stages.", quote)
    assert facts_supported("Filter NW-OF-2210.", quote)
    assert not facts_supported("Tighten them to 40 N·m.", quote)
    assert unsupported_facts("38 psi", quote) == ["38 psi"]  # the number is there, with another unit
    assert not facts_supported("Use filter NW-OF-2211.", quote)
    assert not facts_supported("Set MINUTES to 5 percent.", quote)
    assert {"38", "38 N·m", "NW-OF-2210"} <= facts(quote)


def test_a_short_answer_that_misreads_the_quote_is_not_shown() -> None:
    """Short answers the default model wrote over real quotes (bench/short_answers.py): each passes the check
    of numbers and identifiers but says what the quote does not."""
    belt = "Adjusting the V-belt\nBelt deflection must be 10 to 12 mm when pressed midway between the pulleys."
    assert facts_supported("The V-belt should deflect 12 mm.", belt)
    assert not faithful("The V-belt should deflect 12 mm.", belt, "How much should the V-belt deflect?")
    assert faithful("10 to 12 mm.", belt, "How much should the V-belt deflect?")
    codes = "E04* Overspeed (above 1,750 rpm) Check the governor linkage.\nE05* Overload (output above 110% for 10 s)"
    assert not faithful("Fault code E05 indicates an overspeed condition.", codes, "What does fault code E05 mean?")
    assert faithful("E05 means overload.", codes, "What does fault code E05 mean?")
    ini = "On startup, GPSBabel will look for a file named gpsbabel.ini containing preferences you have provided."
    where = "Where does GPSBabel look for gpsbabel.ini on Linux?"
    assert not faithful("On Linux, GPSBabel looks for gpsbabel.ini in /etc.", ini, where)  # a path it invented
    batch = "GPSBabel can read directions from batch (or command) files via the -b option."
    ask = "Can I put a long GPSBabel command line into a file and run it from there?"
    assert not faithful("Yes, you can put a long GPSBabel command line into a file and run it from there.", batch, ask)
    assert not faithful("Yes.", batch, ask)
    assert faithful("Yes, with the -b option.", batch, ask)


def test_a_short_answer_that_says_a_phrase_over_and_over_is_not_shown() -> None:
    """What the base model (Gemma 270M) wrote over real quotes before its output was cut at "Answer:": each held
    only facts of its quote, and each loops."""
    from fieldmind.answers.short import acceptable, prompt

    assert not acceptable("Hello, world Hello, world Hello, world Hello, world")
    assert not acceptable("60 seconds Answer: 60 seconds Answer: 60 seconds Answer: 60 seconds")
    assert not acceptable("• Crop each image into two pages. • Crop each image into two pages. • Crop each image into")
    assert acceptable("The low battery warning times can be set to 2, 5, 7, or 10 minutes.")
    assert acceptable("Port 25, or 465 with --smtp-ssl ssl.")
    assert " Answer:" in prompt("q?", "text").stops  # a base model goes on with the next "Answer:"; cut there


def test_a_short_answer_may_reword_with_a_word_of_its_own() -> None:
    quote = "Fastener | Torque\nCylinder head bolts | 90 N.m, in three stages"
    assert faithful("The head bolts take 90 N.m, in three stages.", quote, "What torque for the head bolts?")
    assert faithful("Port 25.", "--smtp-port port sets the port (default value is 25).", "Which SMTP port is used?")


@pytest.fixture
def table_manuals(tmp_path: Path) -> Path:
    """A PDF with a torque table (page 2) and a DOCX with a parts table, both generated."""
    import docx
    from fpdf import FPDF

    folder = tmp_path / "manuals"
    folder.mkdir()
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "1 Introduction\nThis manual covers the TX-40 compressor. Read it before servicing.")
    pdf.add_page()
    pdf.multi_cell(0, 6, "7 Torque specifications\nTighten all fasteners to these values with a calibrated wrench.")
    with pdf.table() as table:
        for cells in [
            ("Fastener", "Torque", "Stages"),
            ("Cylinder head bolts", "38 N.m", "2 stages"),
            ("Main bearing caps", "52 N.m", "1 stage"),
            ("Oil drain plug", "25 N.m", "1 stage"),
            ("Valve cover screws", "9 N.m", "1 stage"),
        ]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.multi_cell(0, 6, "Retorque the cylinder head bolts after the first 10 hours of running.")
    pdf.output(str(folder / "tx40-service.pdf"))

    document = docx.Document()
    document.add_heading("TX-40 spare parts", level=1)
    document.add_paragraph("Order spare parts from your dealer by part number.")
    parts = document.add_table(rows=1, cols=3)
    for cell, text in zip(parts.rows[0].cells, ("Part", "Part number", "Quantity"), strict=True):
        cell.text = text
    for row in [
        ("Air filter element", "TX-AF-1180", "1"),
        ("Fuel filter", "TX-FF-0412", "2"),
        ("V-belt", "TX-VB-330", "1"),
    ]:
        cells = parts.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    document.save(str(folder / "tx40-parts.docx"))
    return folder


@pytest.fixture
def quoting(writable_kb) -> Assistant:  # type: ignore[no-untyped-def]
    """The answer pipeline with no model: quotes only."""
    return Assistant(writable_kb, None)


def test_a_cell_of_a_pdf_torque_table_is_answered_from_its_row_with_the_headers(quoting, table_manuals) -> None:  # type: ignore[no-untyped-def]
    quoting.knowledge.ingest([table_manuals])
    answer = quoting.ask("What torque for the main bearing caps?")
    assert answer.found and answer.quote is not None
    assert answer.quote.doc == "tx40-service.pdf" and answer.quote.page == 2
    assert answer.quote.text.startswith("Main bearing caps | 52 N.m")
    assert answer.quote.header == "Fastener | Torque | Stages"
    page = quoting.knowledge.context(answer.citations[0]).text
    assert page[answer.quote.start : answer.quote.end] == answer.quote.text
    assert answer.shown().startswith("Fastener | Torque | Stages\nMain bearing caps | 52 N.m | 1 stage")


def test_a_cell_of_a_docx_parts_table_is_answered_from_its_row_with_the_headers(quoting, table_manuals) -> None:  # type: ignore[no-untyped-def]
    quoting.knowledge.ingest([table_manuals])
    answer = quoting.ask("What is the part number of the fuel filter?")
    assert answer.found and answer.quote is not None
    assert answer.quote.doc == "tx40-parts.docx" and answer.quote.page is None
    assert answer.quote.text.startswith("Fuel filter | TX-FF-0412")
    assert answer.quote.header == "Part | Part number | Quantity"


def test_the_quote_comes_before_any_model_and_a_question_off_the_manual_is_not_found(quoting, table_manuals) -> None:  # type: ignore[no-untyped-def]
    quoting.knowledge.ingest([table_manuals])
    events = list(quoting.ask_stream("What torque for the oil drain plug?"))
    assert isinstance(events[0], SourcesReady) and isinstance(events[1], QuoteReady)
    assert events[1].quote is not None and "25 N.m" in events[1].quote.text
    answer = quoting.ask("Which anti-virus software protects the payroll database?")
    assert not answer.found and answer.quote is None and answer.citations == []
    assert answer.text == NOT_FOUND_ANSWER and answer.passages  # the closest passages are still shown


TOPICS = ["hydraulic pump", "alternator belt", "coolant thermostat", "starter motor", "fuel injector", "air compressor"]
ABSENT = [
    "What colour should the office carpet be?",
    "Who won the football league in 1998?",
    "Which anti-virus software protects the payroll database?",
    "How many calories are in a banana smoothie?",
]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.integers(min_value=2, max_value=999), min_size=len(TOPICS), max_size=len(TOPICS)),
    question=st.sampled_from(ABSENT),
)
def test_a_question_whose_answer_is_not_in_a_generated_manual_never_gets_a_number(
    tmp_path_factory, embedder, values: list[int], question: str
) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase

    folder = tmp_path_factory.mktemp("generated")
    lines = [
        f"# {n + 1} {topic.title()}\n\nInspect the {topic} every {v} hours and replace it after {v * 10} hours."
        for n, (topic, v) in enumerate(zip(TOPICS, values, strict=True))
    ]
    make_pdf(folder / "manual.pdf", ["\n".join(lines[:3]), "\n".join(lines[3:])], headings=True)
    kb = KnowledgeBase(folder / "index", embedder=embedder)
    try:
        kb.ingest([folder / "manual.pdf"])
        answer = Assistant(kb, None).ask(question)
        assert not answer.found and answer.quote is None
        assert not any(ch.isdigit() for ch in answer.text)
    finally:
        kb.close()


def test_the_held_out_manual_answers_from_its_own_sentences(writable_kb) -> None:  # type: ignore[no-untyped-def]
    """The apcupsd UPS manual (HTML, never used to choose the weights' form): quotes carry the key facts."""
    writable_kb.ingest([APCUPSD / "apcupsd-manual.html"])
    assistant = Assistant(writable_kb, None)
    items = {row["id"]: row for row in map(json.loads, (APCUPSD / "qa.jsonl").read_text().splitlines())}
    for qid in ("U01", "U06", "U16"):
        answer = assistant.ask(items[qid]["question"])
        assert answer.found and answer.quote is not None, qid
        assert all(k.lower() in answer.shown().lower() for k in items[qid]["key"]), (qid, answer.shown())
        assert answer.quote.section  # HTML has no pages: the section says where
    for qid in ("U23", "U25"):
        assert not assistant.ask(items[qid]["question"]).found, qid


def test_a_markdown_quote_reads_as_its_rendered_page_and_still_marks_its_stored_words(
    writable_kb, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """An autopilot guide's quotes showed `[BAT1_V_CHARGED](../advanced_config/par…` and `<audio controls>`."""
    manual = tmp_path / "battery.md"
    manual.write_text(
        '# Battery\n\n## Battery Warning Fast <audio controls><source src="warn.mp3"></audio>\n\n'
        "The full cell voltage is set by [BAT1_V_CHARGED](../advanced_config/parameter_reference.md#BAT1_V_CHARGED),"
        " which is **4.05 V** by default for a LiPo pack.\n",
        encoding="utf-8",
    )
    writable_kb.ingest([manual])
    answer = Assistant(writable_kb, None).ask("What is the default full cell voltage BAT1_V_CHARGED?")
    assert answer.found and answer.quote is not None
    shown = answer.quote.shown()
    assert "set by BAT1_V_CHARGED, which is 4.05 V by default" in shown, shown
    assert "](" not in shown and "<" not in shown and "**" not in shown and "#" not in shown
    page = writable_kb.context(answer.passages[0]).text  # the stored text keeps the file's characters
    assert page[answer.quote.start : answer.quote.end] == answer.quote.text and "](" in answer.quote.text


def test_a_plain_text_quote_reads_as_running_sentences_not_the_files_wrapping(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manual = tmp_path / "pump.txt"
    manual.write_text(
        "PUMP MAINTENANCE\n\nThe HT-9 shaft seal must be replaced every\n2000 hours of running or at the\n"
        "yearly service, whichever comes first.\n\nCheck the coupling for wear.\n",
        encoding="utf-8",
    )
    writable_kb.ingest([manual])
    answer = Assistant(writable_kb, None).ask("How often must the HT-9 shaft seal be replaced?")
    assert answer.found and answer.quote is not None
    assert "replaced every 2000 hours of running or at the yearly service" in answer.quote.shown()
    assert "\n" in answer.quote.text  # the stored words keep the file's lines (offsets mark them on the page)


def test_a_scanned_table_row_without_its_numbers_is_not_an_answer() -> None:
    """OCR read a scanned torque table as its first column only, and the app said found with no number in it."""
    from fieldmind.answers.quote import lost_by_ocr

    row = Quote("scan.pdf", "d1", 3, "Torques", "Cylinder head bolts", 0, 19, ocr=0.81)
    asked = "What torque for the cylinder head bolts?"
    assert lost_by_ocr(row, asked)  # shown as the closest lines instead
    assert not lost_by_ocr(Quote("scan.pdf", "d1", 3, None, "Cylinder head bolts 90 N.m", 0, 25, ocr=0.81), asked)
    assert not lost_by_ocr(Quote("typed.pdf", "d1", 3, None, "Cylinder head bolts", 0, 19), asked)  # not a scan
    assert not lost_by_ocr(row, "Where are the cylinder head bolts?")  # no number asked for


def test_the_section_path_tells_apart_lines_that_do_not_name_their_subject(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Manuals state a value under a heading that names what it is for ("Exhaust manifold" over "Tighten the
    bolts to 45 N·m."): the lines alone are alike, their section's path is what tells them apart."""
    parts = {
        "Fuel injector clamp": "30",
        "Exhaust manifold": "45",
        "Water pump housing": "12",
        "Rocker cover": "8",
        "Flywheel": "110",
    }
    body = "\n\n".join(
        f"## {name}\n\nClean the threads and fit new washers.\nTighten the bolts to {torque} N·m in a cross pattern."
        for name, torque in parts.items()
    )
    manual = tmp_path / "torques.md"
    manual.write_text(f"# Service torques\n\n{body}\n", encoding="utf-8")
    writable_kb.ingest([manual])
    assistant = Assistant(writable_kb, None)
    for name, torque in parts.items():
        question = f"What torque for the {name.lower()} bolts?"
        best = assistant.evidence(question, writable_kb.search(question, 5))[0]
        assert f"{torque} N·m" in best.text, (name, best.text)
        assert best.passage.section and name in best.passage.section


def test_the_question_terms_are_matched_as_stems_and_counted_per_text() -> None:
    """Coverage, BM25 and word pairs come from one FTS5 table of the candidates, with Porter stemming."""
    from fieldmind.answers.terms import match_terms

    texts = ["Changing the engine oil: drain it warm.", "The coolant is changed every 2 years.", "Torque table."]
    matches = match_terms("When should I change the engine oil?", texts, coverage=True)
    assert matches.coverage == [1.0, 1 / 3, 0.0]  # "change", "engine", "oil"; "changed" holds "change"
    assert matches.keyword[0] == 1.0 and matches.keyword[2] == 0.0
    assert matches.phrase[0] == 1.0 and matches.phrase[1] == 0.0  # "engine oil" is a pair only in the first
    assert match_terms("When should I change the engine oil?", texts).coverage == []


def test_a_question_about_a_default_is_drawn_to_the_line_that_says_default(embedder) -> None:  # type: ignore[no-untyped-def]
    """ "What is the default …?" is answered by a line that says "default" ("The default value … is 4800."); the
    word is too common among a page's lines for BM25 to weigh, so a window that says it when asked gets a bonus."""
    from dataclasses import replace

    from fieldmind.answers.choose import WEIGHTS, Unit, score
    from fieldmind.answers.terms import asks_for_default
    from fieldmind.knowledge.retrieve import Passage

    assert asks_for_default("What is the default POLLTIME?")
    assert asks_for_default("If I use the examcopy environment without giving a number, how many versions are made?")
    assert not asks_for_default("What torque for the cylinder head bolts?")

    page = (
        "Transfers on all units at high serial speeds are severely restricted by this handshake. Use good cables. "
        "Keep the unit still.\n\nThe baud rate must match the one set on the receiver. The default value is 4800."
    )
    passage = Passage(1, "d", "manual.pdf", 96, "Magellan serial protocol > baud option", page, 1.0)
    units = [Unit(passage, 0, span, "manual.pdf, page 96", page, None) for span in split_units(page)]
    question = "What is the default baud rate for Magellan serial transfers?"
    vector = embedder.encode([question])[0]
    bonus = {w.text: w for w in score(question, vector, units, embedder.encode)}
    plain = {w.text: w for w in score(question, vector, units, embedder.encode, replace(WEIGHTS, default=0.0))}
    for text, window in bonus.items():
        gain = window.score - plain[text].score
        assert gain == pytest.approx(WEIGHTS.default if "default" in text else 0.0), text
    assert any("default" in text for text in bonus) and any("default" not in text for text in bonus)
    assert not any(w.says_default for w in score("What baud rate?", vector, units, embedder.encode))


def test_the_number_of_a_heading_a_list_item_or_a_step_is_not_a_value() -> None:
    """A question that asks for a number prefers a stretch that states one; "6.5.2 Fill the boxes" or "3. The run
    time calibration …" states none, and drew such questions to numbered headings and lists."""
    from fieldmind.answers.terms import holds_value

    assert not holds_value("6.5.2 Fill the boxes\nWhen the letters are drawn inside the boxes, tell the students.")
    assert not holds_value("3. The run time calibration is not advisable for a new UPS.\nStep 2: press the button.")
    assert holds_value("3. The default darkness threshold is 0.15.")
    assert holds_value("lpt1 0x378") and holds_value("Tighten to 38 N·m.") and holds_value("See section 5.4.2.")


def test_option_lists_numbered_headings_and_lines_ending_a_sentence_are_units_of_their_own() -> None:
    """PDF text of a command's manual page: Bling Fire alone read the options and the next heading as one
    run-on sentence, cut at 60 words in the middle of "--epoch" (a line that starts "--n-copies" or lower case
    does not look like a new sentence to it)."""
    page = (
        "--filtered-source file gives the LaTeX file to make from the source file using the\n"
        "specified filter. If omitted, a filename derived from the source file is used.\n"
        "--n-copies n sets the number of copies to produce, overriding the number given in the\n"
        "LaTeX source file.\n"
        "--epoch EPOCH gives an epoch (seconds since january 1, 1970) to get a reproducible pdf\n"
        "output.\n"
        "-d dir sets the directory where the project's data files are.\n"
        "9.3 auto-multiple-choice-meptex\n"
        "auto-multiple-choice-meptex gets the layout from the working document.\n"
        "it then fills the layout database."
    )
    texts = [(s.kind, page[s.start : s.end]) for s in split_units(page)]
    assert (
        "item",
        "--epoch EPOCH gives an epoch (seconds since january 1, 1970) to get a reproducible pdf\noutput.",
    ) in texts
    assert ("item", "-d dir sets the directory where the project's data files are.") in texts
    assert ("heading", "9.3 auto-multiple-choice-meptex") in texts
    assert ("sentence", "it then fills the layout database.") in texts  # after a line that ended a sentence


def test_a_sentence_cut_by_the_page_break_is_quoted_on_to_the_next_page(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A quote that ends its page mid-sentence runs on past the next page's running header to the sentence's end
    (AVRDUDE's "…the /RESET pin is activated initially using a" | "12 V pulse…" was answered without its
    number); one that ends its sentence does not."""
    filler = "\n".join(f"Section {n} describes the cable colours of harness {n}." for n in range(1, 9))
    manual = make_pdf(
        tmp_path / "programmer.pdf",
        [
            "Appendix B: Troubleshooting 52\n"
            + filler
            + "\nThe fuse can be cleared only with a programmer capable of high-voltage programming.\n"
            "In high-voltage programming mode, the reset pin is first driven with a",
            "Appendix B: Troubleshooting 53\n"
            "12 V pulse, so the target can be reprogrammed and the fuse cleared.\n"
            "The serial port of the programmer is set with the -P option.",
            "Appendix B: Troubleshooting 54\nThe parallel port of the programmer is set with the -L option.",
        ],
    )
    writable_kb.ingest([manual])
    assistant = Assistant(writable_kb, None)
    answer = assistant.ask("In high-voltage programming mode, what pulse drives the reset pin?")
    quote = answer.quote or answer.closest
    assert quote is not None and quote.page == 1 and quote.continued is not None
    assert quote.continued.page == 2 and "12 V pulse" in quote.continued.text and "Troubleshooting" not in quote.shown()
    assert quote.continued.text.endswith("fuse cleared.")  # to the end of the sentence, no further
    page_two = writable_kb.next_page(next(p for p in answer.passages if p.page == 1))
    assert page_two is not None and page_two[quote.continued.start : quote.continued.end] == quote.continued.text
    assert "pages 1–2" in quote.where
    assert quote.span_on(quote.doc_id, 2, page_two) == (quote.continued.start, quote.continued.end)  # highlighted
    assert quote.span_on(quote.doc_id, 3, page_two) is None
    kept = Quote.from_json(json.loads(json.dumps(quote.to_json())))  # history and exports keep it
    assert kept.continued == quote.continued and kept.shown() == quote.shown() and kept.where == quote.where

    ended = assistant.ask("Which option sets the serial port of the programmer?")
    shown = ended.quote or ended.closest
    assert shown is not None and shown.page == 2 and shown.continued is None, shown


def test_a_stretch_is_ranked_under_its_section_path_without_its_own_heading_lines() -> None:
    """The section's path already names the section: a heading line inside the stretch is left out of what is
    compared with the question (counted twice, it drew the choice to a section's opening lines), unless the
    stretch is nothing but a heading."""
    from fieldmind.answers.choose import Unit, Window
    from fieldmind.knowledge.retrieve import Passage

    page = "Working with predefined options\nThe inifile mechanism can be disabled with an empty filename."
    section = "2 Usage > Working with predefined options"
    passage = Passage(1, "d", "manual.pdf", 8, section, page, 1.0)
    units = [Unit(passage, 0, span, "manual.pdf, page 8", page, None) for span in split_units(page)]
    assert [u.span.kind for u in units] == ["heading", "sentence"]
    both = Window(units=tuple(units))
    assert both.scoring_text() == f"{section}\nThe inifile mechanism can be disabled with an empty filename."
    assert both.text == page  # what is shown keeps the heading: only the ranking leaves it out
    assert Window(units=(units[0],)).scoring_text() == f"{section}\nWorking with predefined options"


def test_a_quote_reads_on_to_the_sentences_that_say_what_to_do() -> None:
    """Manuals name the case, then say what to do about it: the stretch most like the question is often the
    first of the two (AVRDUDE's DWEN fuse, FLIP's security mode). The quote reads on with the sentences and items
    after it while it stays within QUOTE_WORDS, not past a heading and not from a table row."""
    from fieldmind.answers.choose import Unit, Window
    from fieldmind.answers.quote import QUOTE_WORDS, read_on, select
    from fieldmind.knowledge.retrieve import Passage

    page = (
        "Problem: How do I turn off the DWEN fuse?\n"
        "Solution: If the DWEN fuse is activated, normal ISP communication cannot be established.\n"
        "There are two options to deactivate that fuse again: high-voltage programming, or debugWire.\n"
        "5.3 Serial bootloaders\n"
        "The bootloader listens on the serial port after a reset."
    )
    passage = Passage(1, "d", "manual.pdf", 56, "Troubleshooting", page, 1.0)
    units = [Unit(passage, 0, span, "manual.pdf, page 56", page, None) for span in split_units(page)]
    lead = Window(units=tuple(units[:2]), score=2.0)
    quote = select([lead], sure=5.0)
    assert quote is not None and quote.text.endswith("high-voltage programming, or debugWire.")
    assert page[quote.start : quote.end] == quote.text and "Serial bootloaders" not in quote.text
    assert read_on(lead, limit=len(lead.text.split())) == lead  # no room: the stretch as chosen
    assert len(read_on(lead).text.split()) <= QUOTE_WORDS

    table = "Part | Torque\nHead bolts | 38 N·m\nSump bolts | 10 N·m"
    rows = [Unit(passage, 0, span, "manual.pdf, page 56", table, None) for span in split_units(table)]
    row = next(u for u in rows if u.span.kind == "row" and "Head" in u.text)
    assert read_on(Window(units=(row,))).text == "Head bolts | 38 N·m"  # the next row is another answer


def test_words_hyphenated_at_a_line_end_are_joined_as_the_manual_spells_them() -> None:
    """PDFium marks a word broken over two lines with U+FFFE ("program\ufffeming"): the quote showed a stray glyph
    and the word matched no search. The halves are joined, unless the manual writes them with a hyphen elsewhere."""
    from fieldmind.knowledge.parsers.hyphens import join_hyphenated

    pages = [
        "Write the questions in AMC-TXT format. The program\ufffeming adapter needs EEP\ufffeROM access.",
        "Convert the file to AMC\ufffeTXT first, then connect the pro\ufffegrammer.",
    ]
    joined = join_hyphenated(pages)
    assert joined == [
        "Write the questions in AMC-TXT format. The programming adapter needs EEPROM access.",
        "Convert the file to AMC-TXT first, then connect the programmer.",
    ]
    assert join_hyphenated(["no marks here"]) == ["no marks here"]
    assert "\ufffe" not in join_hyphenated(["a stray mark \ufffe at a line end"])[0]

    from fieldmind.knowledge.parsers.pdf import parse_pdf

    manual = parse_pdf(Path(__file__).parent / "data" / "avrdude" / "avrdude-manual.pdf")  # 89 marks in PDFium's text
    text = "\n".join(segment.text for segment in manual.segments)
    assert "\ufffe" not in text and "EEP-ROM" not in text and text.count("EEPROM") >= 20


def test_the_page_picture_marks_a_quoted_word_the_typesetter_broke_over_two_lines() -> None:
    """The quote holds "supported" where the page has "sup-" at a line's end and "ported" on the next; PDFium's
    own search found neither the line nor the four words around the break, so they went unmarked."""
    import pypdfium2 as pdfium

    from fieldmind.knowledge.picture import render_page, text_boxes

    manual = Path(__file__).parent / "data" / "avrdude" / "avrdude-manual.pdf"
    quote = (
        "Atmel’s XplainedPro boards, using EDBG protocol (CMSIS-DAP compliant), are supported by the “jtag3” "
        "programmer type."
    )
    pdf = pdfium.PdfDocument(str(manual))
    page = pdf[6]
    textpage = page.get_textpage()
    width, height = page.get_size()
    text = textpage.get_text_range()
    mark = text.index("sup\ufffe")
    boxes = text_boxes(textpage, width, height, quote)

    def marked(index: int) -> bool:
        left, bottom, right, top = textpage.get_charbox(index)
        x, y = (left + right) / 2 / width, 1 - (bottom + top) / 2 / height
        return any(a <= x <= c and b <= y <= d for a, b, c, d in boxes)

    assert marked(mark) and marked(mark + 4)  # "sup" and "ported", either side of the break
    assert not marked(text.index("STK500"))  # and not the rest of the page
    assert text_boxes(textpage, width, height, "words this page does not hold") == []
    textpage.close()
    page.close()
    pdf.close()
    assert len(render_page(manual, 7, quote, None, width=600).marked) == len(boxes)


def test_the_reader_as_a_confidence_feature_moves_the_confidence_not_the_ranking() -> None:
    """`Weights.read_confidence` adds the best stretch's reader logit to today's confidence; the order of the
    stretches stays today's (the reader's weight in the ranking is another knob, `reader`)."""
    from dataclasses import replace

    from fieldmind.answers.choose import WEIGHTS, Unit, Window, confidence, rank
    from fieldmind.knowledge.retrieve import Passage

    page = "The reservoir holds 20 litres.\nDrain it every 500 hours."
    passage = Passage(1, "d", "manual.pdf", 3, "Hydraulics", page, 1.0)
    units = [Unit(passage, 0, span, "manual.pdf, page 3", page, None) for span in split_units(page)]
    windows = [
        Window(units=(units[0],), similarity=0.6, read=-2.0),
        Window(units=(units[1],), similarity=0.5, read=3.0),  # the reader prefers it, the ranking does not ask
    ]
    feature = replace(WEIGHTS, read_confidence=0.5)
    assert [w.first for w in rank(windows, feature)] == [w.first for w in rank(windows, WEIGHTS)] == units
    today = confidence(rank(windows, WEIGHTS), 0, WEIGHTS)
    assert confidence(rank(windows, feature), 0, feature) == pytest.approx(today - 1.0)  # 0.5 × the best's -2
