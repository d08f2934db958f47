"""Templates compiled once per language, with their fixed texts already translated.

The templates hold over 700 `_('…')` calls on fixed texts. Translated at render time,
each one cost a Jinja call, a lookup of the request's translations and a `Markup`: a few
microseconds, a hundred times on a busy page, for a result that only depends on the
language. Here a template is compiled once per language, and `_('a fixed text')` with
nothing to fill in compiles to its translation, marked safe exactly as the render-time
call marked it. Calls with values to fill in (`_('… %(name)s', name=…)`), `ngettext` and
texts held in variables are left to the render-time callables (portal/web.py).

A changed message catalogue takes effect at the next start, as it already did: Flask-Babel
keeps the translations it loaded for the life of the process.
"""

from __future__ import annotations

import weakref

from flask.templating import Environment
from flask_babel import get_locale
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

_GETTEXT_NAMES = frozenset({"_", "gettext"})


def _language() -> str:
    """The language templates are compiled in now: the request's, or the one forced for a
    message (`force_locale`); outside both, the default."""
    locale = get_locale()
    return str(locale) if locale else ""


class LanguageEnvironment(Environment):
    """Flask's environment, caching a compiled template per language as well as per name."""

    def _load_template(self, name, globals):
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        cache_key = (weakref.ref(self.loader), name, _language())
        template = self.cache.get(cache_key) if self.cache is not None else None
        if template is not None and (not self.auto_reload or template.is_up_to_date):
            if globals:
                template.globals.update(globals)
            return template
        template = self.loader.load(self, name, self.make_globals(globals))
        if self.cache is not None:
            self.cache[cache_key] = template
        return template


class TranslatedLiterals(Extension):
    """Turns `_('fixed text')` into the text's translation, at compile time."""

    def __init__(self, environment) -> None:
        super().__init__(environment)
        self.translations = None  # set by `use_translations`

    def filter_stream(self, stream: TokenStream):
        tokens = list(stream)
        index = 0
        while index < len(tokens):
            replaced = self._translated(tokens, index)
            if replaced is None:
                yield tokens[index]
                index += 1
            else:
                yield from replaced
                index += 4

    def _translated(self, tokens: list[Token], index: int) -> list[Token] | None:
        """For `_ ( 'text' )` at `index` (not an attribute `x._`), the tokens of
        `'translation'|safe`; otherwise None."""
        window = tokens[index : index + 4]
        if len(window) < 4 or self.translations is None:
            return None
        name, opening, literal, closing = window
        if not (
            name.type == "name"
            and name.value in _GETTEXT_NAMES
            and (index == 0 or tokens[index - 1].type != "dot")
            and (opening.type, literal.type, closing.type) == ("lparen", "string", "rparen")
        ):
            return None
        try:
            # What the render-time call returns: the translation, always %-formatted.
            text = self.translations().ugettext(literal.value) % {}
        except (TypeError, ValueError, KeyError):
            return None  # left to the render-time call, which fails the same way
        line = name.lineno
        return [Token(line, "string", text), Token(line, "pipe", "|"), Token(line, "name", "safe")]


def use_translations(environment, translations) -> None:
    """Compile templates with `translations()`: the translations of the current language."""
    extension = environment.extensions[f"{TranslatedLiterals.__module__}.{TranslatedLiterals.__name__}"]
    extension.translations = translations
