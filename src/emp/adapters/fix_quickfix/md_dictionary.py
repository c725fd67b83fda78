"""``FIX44-md.xml``: quickfix's FIX 4.4 dictionary, extended for the market data EMP sends.

quickfix validates every message against its data dictionary, and its parser ends a
repeating group at the first tag the dictionary does not place in it. The stock FIX44.xml
has no RptSeq (83) in the NoMDEntries group of a 35=X (nor on a 35=W), no MDEntryID (278)
and no MDPriceLevel (1023) in the 35=W entries, and no field 1023 at all, so it would
split (and reject, 35=3) every increment or order-level snapshot EMP publishes.
:func:`md_data_dictionary` writes the installed dictionary with:

* RptSeq and MDPriceLevel added to the 35=X entries (MDIncGrp);
* MDEntryID and MDPriceLevel added to the 35=W entries (MDFullGrp), RptSeq to the 35=W;
* field 1023 MDPriceLevel defined.
"""

from __future__ import annotations

from pathlib import Path

from emp.adapters.fix_quickfix.config import installed_data_dictionary
from emp.domain.errors import InvalidConfiguration

MD_DICTIONARY_NAME = "FIX44-md.xml"

_GROUP_LAST = "    <field name='EncodedText' required='N' />\n"
_GROUP_END = _GROUP_LAST + "   </group>\n  </component>\n"
_INC_GROUP_START = "  <component name='MDIncGrp'>\n"
_FULL_GROUP_START = "  <component name='MDFullGrp'>\n"
_W_START = "  <message name='MarketDataSnapshotFullRefresh' msgtype='W' msgcat='app'>\n"
_FIELDS_START = " <fields>\n"


def _field(name: str) -> str:
    return f"    <field name='{name}' required='N' />\n"


def _extend_group(text: str, start_marker: str, names: tuple[str, ...]) -> str:
    start = text.find(start_marker)
    end = text.find(_GROUP_END, start) if start >= 0 else -1
    if end < 0:
        raise InvalidConfiguration(
            "expected quickfix's FIX 4.4 dictionary (MDFullGrp, MDIncGrp, 35=W and "
            "<fields>), was another"
        )
    cut = end + len(_GROUP_LAST)
    return text[:cut] + "".join(_field(n) for n in names) + text[cut:]


def md_data_dictionary(directory: Path, source: Path | None = None) -> Path:
    """Write ``FIX44-md.xml`` into ``directory`` (see the module docstring) and return it.

    ``source`` is the dictionary to extend (default: quickfix's installed FIX44.xml).
    """
    text = (source or installed_data_dictionary()).read_text(encoding="utf-8")
    if text.find(_W_START) < 0 or text.find(_FIELDS_START) < 0:
        raise InvalidConfiguration(
            "expected quickfix's FIX 4.4 dictionary (MDFullGrp, MDIncGrp, 35=W and "
            "<fields>), was another"
        )
    text = _extend_group(text, _INC_GROUP_START, ("RptSeq", "MDPriceLevel"))
    text = _extend_group(text, _FULL_GROUP_START, ("MDEntryID", "MDPriceLevel"))
    w_cut = text.find(_W_START) + len(_W_START)
    text = text[:w_cut] + "   <field name='RptSeq' required='N' />\n" + text[w_cut:]
    if "number='1023'" not in text:
        f_cut = text.find(_FIELDS_START) + len(_FIELDS_START)
        text = (
            text[:f_cut]
            + "  <field number='1023' name='MDPriceLevel' type='INT' />\n"
            + text[f_cut:]
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MD_DICTIONARY_NAME
    path.write_text(text, encoding="utf-8")
    return path
