"""rules.md sections 1 and 3 step 2: a campaign declared `transactional`, `non_commercial` or
`political` must not carry promotional content. The nature is checked, not trusted: this screens
the message template's literal text, French marketing language in mind.

How it decides. The text is folded (case and accents, tambour.rules.fold) character by
character, so that what is found can be quoted from the original. Placeholders (`{...}`) are
blanked. Phrases that only look commercial are blanked too: a tax reduction for a donation
("66 % de réduction d'impôt") is no discount. Then every signal is found, each with a weight:

- strong (3), enough alone: a discount ("-20%", "20 % de remise", "50€ offerts", "2 pour 1",
  "1 acheté = 1 offert", "au lieu de 60€"), a promo code ("code PROMO50", "avec le code NOEL"),
  "soldes", "promo", "bon plan", "vente privée", "black friday", "déstockage", a commercial offer
  ("offre spéciale", "profitez de notre offre"), an unmistakable call to buy ("achetez", "j'en
  profite", "commandez maintenant", "découvrez nos nouveautés", "pour tout achat", "jusqu'à
  épuisement des stocks"), an advertised price ("à partir de 49€", "9,90€ seulement"), a contest
  ("jeu concours"), a link whose address says promo or soldes;
- medium (2), enough beside any other signal: a call that may be innocent alone ("profitez",
  "commandez", "découvrez nos", "dernières heures", "gagnez", "réservez votre table"),
  "réduction", "ce week-end seulement";
- weak (1), never enough without a medium or strong signal: a bare amount in euros, "gratuit",
  "offert", a bare "offre" or "remise", "cadeau", "livraison gratuite", "en magasin", a link to
  a shop or with `utm_` tracking.

The text is promotional when it holds a strong signal, or a medium one and a total weight of 3
or more. Each phrase counts once (three amounts in an invoice are one weak signal), and a signal
inside a stronger one is the same evidence ("gratuit" inside "essai gratuit").

Decisions worth knowing:

- "Livraison gratuite" / "livraison offerte" is weak: stated in an order confirmation it is a
  term of the order already placed, not an inducement; beside a call to buy or a discount it
  adds to the promotion.
- A donation is not a purchase. "Réduction d'impôt", "déduction fiscale", "déductible de vos
  impôts", "reçu fiscal" are blanked before the screen, and in a text about a donation ("don",
  "donateur", "soutenez", "cotisation") the price phrases ("ne vous coûte que 17 €") do not
  count: "Un don de 50 € ne vous coûte que 17 € après réduction d'impôt" is not promotional.
  A charity that sells ("achetez nos calendriers", "-20% à la boutique solidaire") is caught.
- "Solde" (a bank balance) is not "soldes"; "promotion de la lecture" and "promotion 2024" (a
  class of students) are weak. A code counts as a promo code when its token is written in
  capitals with three letters in a row ("NOEL", "PROMO50") or is a placeholder after "avec le
  code" / "utilisez le code", and never in a text about verification, access, PIN or withdrawal
  codes ("Votre code de vérification est 482913").
- Public-policy figures in a political text ("-10% d'impôts locaux") are no discount; neither
  are counts in a booking ("3 nuits pour 2 personnes").
- "non-stop", "24h/24", "7j/7" carry no weight.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, NamedTuple

from tambour.rules.fold import fold

STRONG: Final = 3
MEDIUM: Final = 2
WEAK: Final = 1
THRESHOLD: Final = 3


@dataclass(frozen=True, slots=True)
class PromotionVerdict:
    promotional: bool
    # What was found, as short phrases quoted from the text, strongest first then in text order
    # ("code PROMO50", "-50%", "soldes"); the weak signals of a text found not promotional too.
    signals: tuple[str, ...]


# --- folding that keeps positions ----------------------------------------------------------------


class _CharFold(dict[int, str]):
    """A str.translate table filled on demand: each character folded as tambour.rules.fold does,
    white space as one space, typographic apostrophes and dashes as ASCII ones."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char.isspace():
            out = " "
        elif char in "’‘ʼ`´":
            out = "'"
        elif char in "‐‑‒–—−":
            out = "-"
        else:
            out = fold(char)  # "é" -> "e", "œ" -> "oe", a lone combining mark -> ""
        self[code] = out
        return out


_TABLE: Final = _CharFold()


def _fold_keeping_positions(text: str) -> tuple[str, list[int] | None]:
    """The folded text, and None when it has the original's length (the usual case), else the
    original index of each folded character."""
    folded = text.translate(_TABLE)
    if len(folded) == len(text):
        return folded, None
    where: list[int] = []
    for index, char in enumerate(text):
        where.extend([index] * len(_TABLE[ord(char)]))
    return folded, where


# --- the phrases ---------------------------------------------------------------------------------
# Each phrase is a regular expression over folded text that starts with a literal character (or
# \d): the scan is one alternation grouped by first character, tried at each word start.

_NUM = r"\d+(?:[.,]\d{1,2})?"
_CUR = r"(?:€|euros?(?!\w)|eur(?!\w)|centimes?(?!\w))"
_AMOUNT_D = rf"{_NUM}\s?{_CUR}(?:\d\d(?!\d))?"  # 45,90 €, 9€99, 10 euros
_AMOUNT_E = rf"€\s?{_NUM}"  # € 45
_AMOUNT = rf"(?:{_AMOUNT_D}|{_AMOUNT_E})"
_PCT = rf"{_NUM}\s?%"
_ORD = r"(?:\d\d?(?:e|eme|ieme)|2nde?|deuxieme|seconde?|troisieme)"
# Figures of public policy (a political programme), not discounts.
_POLICY = (
    r"(?!\s*(?:d'|de\s+|des\s+|sur\s+(?:la\s+|les\s+|l')?)"
    r"(?:impots?|taxes?|chomage|emissions?|co2|pollution|depenses?|deficit|dette|pauvrete|"
    r"consommation|energie|gaz|accidents?|deces|mortalite|loyers?|factures? d'energie))"
)
# What may follow the "1" of "2 pour 1", "2 pizzas pour 1": the end of the phrase, or the when,
# where or what of the offer; never another noun ("3 nuits pour 2 personnes", "3 candidats pour
# 1 cause").
_OFFER_END = (
    r"(?![\w/]|[.,]\d)(?=\s*(?:$|[!.,;:)(-]|(?:de|d'|sur|ce|cette|le|la|les|en|au|aux|a|jusqu'\w*|"
    r"tous|toute|chaque|pendant|achetee?s?|seulement|offerte?s?|gratuite?s?|avec|chez|dans|"
    r"pour)(?!\w)))"
)
# A percentage "sur les ..." is a discount unless it is a rate, a rise or a tax.
_NOT_A_RATE = re.compile(
    r"(?:taux|hausse|augment\w*|interets?|tva|inflation|rendement|remuneration|cotisations?|"
    r"prelevements?|commissions?|frais|impots?|taxes?|loyers?|majoration|penalites?)"
    r"[^.!?;]{0,25}$"
)
_PCT_TAIL = (
    r"\s+(?:de\s+)?(?:remise|reduction|reduc|rabais|ristourne|remboursee?s?|offerte?s?|"
    r"de moins|d'economies?|gratuite?s?|en plus|supplementaires?|en bons? d'achat|cagnottee?s?|"
    r"sur\s+(?:tout|toute|tous|toutes|l'ensemble|nos|notre|le rayon|les articles|la collection|"
    r"presentation|"
    r"une selection|le site|la boutique|le magasin|vos achats|votre (?:prochain|prochaine|"
    rf"premier|premiere|commande|achat|panier)|(?:le|la|votre) {_ORD}))"
)
_AMOUNT_TAIL = (
    r"\s+(?:offerte?s?|de\s+(?:remise|reduction|reduc|rabais)|remboursee?s?|de cadeau|"
    r"en cadeau|en bons? d'achat|de bons? d'achat|d'economies?|en moins|de moins|cagnottee?s?|"
    r"d'achats?|de (?:credit|bonus|prime|reprise)(?: offerte?s?)?)"
)
_DISCOUNT_TAIL = (
    r"\s+(?:immediate|exceptionnelle|speciale|supplementaire|"
    rf"de\s+(?:-\s?)?(?:{_PCT}|{_AMOUNT}))"
)
_GIFT_TAIL = (
    rf"\s*[=,:+/-]?\s*(?:(?:le|la)\s+)?(?:\d|une?|{_ORD})(?:\s+[a-z]+)?\s+"
    r"(?:offerte?s?|gratuite?s?|a\s+(?:-|moitie))"
)
_ORD_TAIL = (
    rf"(?:\s+\w+){{0,2}}?\s+(?:a\s+-\s?{_PCT}|a\s+moitie prix|offerte?|gratuite?|"
    r"a\s+1\s?(?:€|euro))"
)


class _Phrase(NamedTuple):
    weight: int
    kind: str  # "" (plain), "n_for_m" (checked), "price" (not in a donation), "amount"
    pattern: str


def _phrases(weight: int, *patterns: str, kind: str = "") -> tuple[_Phrase, ...]:
    return tuple(_Phrase(weight, kind, p) for p in patterns)


# In priority order: at one position, the first phrase that matches is taken.
_PHRASES: Final[tuple[_Phrase, ...]] = (
    *_phrases(
        STRONG,
        # Discounts.
        rf"jusqu'a\s+-?\s?{_PCT}",
        rf"-\s?{_PCT}{_POLICY}",
        rf"{_PCT}{_PCT_TAIL}",
        rf"{_AMOUNT_D}{_AMOUNT_TAIL}",
        rf"{_AMOUNT_E}{_AMOUNT_TAIL}",
        rf"remise{_DISCOUNT_TAIL}",
        rf"reduction{_DISCOUNT_TAIL}",
        rf"rabais{_DISCOUNT_TAIL}",
        rf"ristourne{_DISCOUNT_TAIL}",
        rf"au lieu de\s+{_AMOUNT}",
        r"pour le prix d(?:e\s+|')\s*(?:\d|une?|deux)",
        rf"\d(?:\s+[a-z]+)?\s+achetee?s?{_GIFT_TAIL}",
        rf"une?(?:\s+[a-z]+)?\s+achetee?s?{_GIFT_TAIL}",
        r"offerte?s?\s+pour\s+(?:tout|toute|chaque)\s",
        r"pour\s+(?:\d|une?|deux|trois)(?:\s+[a-z]+)?\s+achetee?s?",
        r"pour\s+(?:\d|une?|deux|trois)(?:\s+[a-z]+)?\s+payante?s?",
        rf"{_AMOUNT_D}\s+de\s+[a-z]+\s+offerte?s?",
        r"a\s+0(?:[.,]0+)?\s?(?:€|euros?(?!\w))",
        r"payez-en\s+\d",
        r"ne payez (?:que|plus)",
        r"tout doit disparaitre",
        rf"\d\d?(?:e|eme|ieme){_ORD_TAIL}",
        rf"2nde?{_ORD_TAIL}",
        rf"deuxieme{_ORD_TAIL}",
        rf"seconde?{_ORD_TAIL}",
        rf"troisieme{_ORD_TAIL}",
        r"(?:1er|premier)\s+mois\s+(?:gratuits?|offerts?)",
        r"\d\s+mois\s+(?:gratuits?|offerts?)",
        # Promotional words.
        r"codes?\s+(?:promo|promotionnel|de\s+reduction|reduc|remise|avantage)",
        r"bons?\s+d'achats?",
        r"bons?\s+de\s+reduction",
        r"bons?\s+plans?",
        r"coupons?(?!\w)",
        r"promos?(?!\w)",
        r"promotionn\w*",
        r"promotions(?!\w)",
        r"promotion(?!\w)(?!\s+(?:d'|(?:de|du|des|\d{4}|interne|sociale|professionnelle)(?!\w)))",
        r"en promotion",
        r"soldee?s(?!\w)(?!\s+de\s+(?:conges|tout compte|compte|vos conges))",
        r"soldee(?!\w)",
        r"prix\s+soldee?s?(?!\w)",
        r"articles?\s+soldee?s?(?!\w)",
        r"ventes?\s+privees?",
        r"ventes?\s+flash",
        r"offres?\s+flash",
        r"black\s*friday",
        r"cyber\s*monday",
        r"french\s*days",
        r"prime\s*day",
        r"de-?stockage",
        r"de\s+stockage",
        r"liquidation\s+(?:totale|du stock|de stock|avant)",
        r"petits?\s+prix",
        r"moitie\s+prix",
        r"demarque",
        r"bonnes?\s+affaires?",
        r"discounts?(?!\w)",
        r"(?:a\s+)?prix\s+(?:casses?|barres?|chocs?|minis?|bas|imbattables?|fous|sacrifies|d'ami|"
        r"coutant|exceptionnels?|promo|reduits?|tout doux|doux|canons?|en baisse|discount)(?!\w)",
        r"offres?\s+(?:speciales?|exclusives?|limitees?|decouverte|de bienvenue|promotionnelles?|"
        r"privileges?|du moment|de lancement|d'essai|exceptionnelles?|anniversaire|de noel|"
        r"de printemps|d'ete|d'automne|d'hiver|valable|reservee?s?|a ne pas manquer|"
        r"irresistibles?|imbattables?|incroyables?|uniques?|fidelite|de la semaine|du mois|"
        r"du week-?end|immanquables?|choc|a saisir|commerciales?|de rentree|de fin d'annee)",
        r"jusqu'a epuisement(?: des stocks)?",
        r"dans la limite des stocks(?: disponibles)?",
        r"stocks?\s+limites?",
        r"quantites?\s+limitees?",
        r"series?\s+limitees?",
        r"jeux?\s*-?\s*concours",
        r"tentez\s+(?:votre chance|de gagner)",
        r"a gagner(?!\w)",
        r"cadeaux?\s+(?:offerts?|de bienvenue|surprise|pour tout|au choix)",
        r"cadeaux?(?:\s+\S+){0,3}?\s+vous attend",
        # Calls to buy.
        r"achetez",
        r"j'en profite",
        r"je profite",
        r"profitez[- ]en",
        r"profitez\s+vite",
        r"profitez\s+(?:des\s+(?:soldes|promos?|prix|offres|remises|reductions|ventes|"
        r"bons plans|derniers jours|avantages)|de\s+(?:nos|notre|cette|ces|cet|l'offre|la promo|"
        r"prix|tarifs?)|d'une\s+(?:remise|reduction|offre|promo)|d'un\s+(?:rabais|prix))",
        r"commandez\s+(?:maintenant|vite|des maintenant|des aujourd'hui|des a present|en ligne|"
        r"sur|avant|nos|notre|vos|le votre|la votre|les votres)",
        r"decouvrez\s+(?:vite\s+)?(?:nos|notre|la|les|toutes? nos)\s+(?:nouveaux?|nouvelles?|"
        r"nouveautes|produits|offres|collections?|gammes?|articles|modeles|menus?|soldes|promos?|"
        r"prix|tarifs|exclusivites|bons plans|ventes|catalogue|selection|boutiques?|e-?shop|"
        r"magasins?|carte|cadeaux|arrivages?|references|marques)(?!\w)",
        r"pour\s+(?:tout|chaque)\s+achat",
        r"pour\s+(?:toute|chaque)\s+commande",
        r"des\s+(?:le\s+)?(?:premier|1er)\s+achat",
        r"pour\s+l'achat\s+d(?:'une?|(?:e|u|es)\s+[\w-]+)",
        r"a\s+l'achat\s+d(?:'une?|(?:e|u|es)\s+[\w-]+)",
        r"sur\s+tout\s+le\s+(?:site|magasin|rayon|stock)",
        r"craquez",
        r"ne (?:ratez|manquez) pas (?:nos|notre|cette offre|les soldes|l'offre)",
    ),
    # Advertised prices (not in a text about a donation).
    *_phrases(
        STRONG,
        rf"a partir de\s+{_AMOUNT}",
        rf"des\s+{_AMOUNT}",
        rf"seulement\s+{_AMOUNT}",
        rf"a seulement\s+{_AMOUNT}",
        rf"pour seulement\s+{_AMOUNT}",
        rf"ne (?:vous )?coute que\s+{_AMOUNT}",
        rf"recevez\s+(?:jusqu'a\s+)?{_AMOUNT}",
        rf"obtenez\s+(?:jusqu'a\s+)?{_AMOUNT}",
        rf"{_AMOUNT_D}\s+seulement",
        rf"{_AMOUNT_E}\s+seulement",
        kind="price",
    ),
    # "2 pour 1", "3 chemises pour 2": the digits are checked (2 to 5, then fewer).
    *_phrases(STRONG, rf"{_PCT}\s+sur\s+(?:les|la|le|l'|une?|des)(?!\w)", kind="pct_on"),
    *_phrases(STRONG, rf"\d(?:\s+[a-z]+)?\s+pour\s+\d{_OFFER_END}", kind="n_for_m"),
    *_phrases(
        MEDIUM,
        r"promotion\s+(?:de\s+la\s+semaine|du\s+(?:mois|moment|jour|week-?end))",
        r"profitez",
        r"commandez",
        r"decouvrez\s+(?:vite\s+)?(?:nos|notre)",
        r"dernieres?\s+heures",
        r"derniers?\s+jours",
        r"derniere\s+chance",
        r"depechez-vous",
        r"ne (?:ratez|manquez) pas",
        r"a ne pas (?:manquer|rater)",
        r"immanquable",
        r"venez\s+(?:decouvrir|profiter|vite|en magasin|en boutique)",
        r"rendez-vous\s+(?:en|dans nos|dans notre)\s+(?:magasins?|boutiques?)",
        r"gagnez",
        r"recevez",
        r"obtenez",
        r"souscrivez",
        r"venez essayer",
        r"essayez",
        r"sans engagement",
        r"idees?\s+cadeaux?",
        r"(?:estimation|devis|diagnostic|bilan|audit|essai|seance|cours)\s+gratuite?s?",
        r"braderie",
        r"soiree\s+(?:shopping|privee|vip)",
        r"sur presentation de (?:ce|cet|la|votre) (?:sms|message|coupon|bon|carte)"
        r"(?! d'identite| vitale| grise| bancaire)",
        r"portes? ouvertes?",
        rf"\+\s?{_AMOUNT}",
        r"en (?:reservant|commandant|souscrivant|achetant|vous abonnant|vous inscrivant)",
        r"rendez-vous\s+sur",
        r"(?:les\s+)?prix\s+(?:baissent|en baisse)",
        r"baisse des prix",
        rf"jusqu'a\s+{_AMOUNT}",
        rf"{_AMOUNT_D}\s*(?:/\s*|par\s+)mois",
        r"essai gratuit",
        r"economisez",
        r"faites des economies",
        r"en exclusivite",
        r"offrez(?:-vous|-lui|-leur)?",
        r"faites-vous plaisir",
        r"abonnez-vous",
        r"nouvelles?\s+collections?",
        r"nouveaux arrivages",
        r"ouverture exceptionnelle",
        r"tarifs?\s+(?:preferentiels?|speciaux|special|exceptionnels?|reduits?|avantageux|"
        r"exclusifs?)",
        r"cumulez",
        r"points?\s+(?:x2|doubles?)",
        r"doublez vos points",
        r"happy hour",
        r"deals?(?!\w)",
        r"parrainez",
        r"au prix de",
        r"reservez\s+(?:vite|des maintenant|des a present|votre table|vos tables|vos places|"
        r"en ligne|sur)",
        r"reservez",
        r"ce\s+(?:week-?end|soir|jour|mois)\s+seulement",
        r"cette\s+semaine\s+seulement",
        r"aujourd'hui seulement",
        r"pendant\s+\d+\s?h\s+seulement",
        r"pour une duree limitee",
        r"duree limitee",
        r"temps limite",
        r"minimum d'achat",
        r"reductions?(?!\w)",
        r"remises(?!\w)",
        r"nos offres",
        r"a saisir(?!\w)",
    ),
    *_phrases(
        WEAK,
        r"promotion(?!\w)",
        r"livraison\s+(?:gratuite|offerte)",
        r"frais de (?:port|livraison) offerts",
        r"gratuite?s?(?!\w)",
        r"gratuitement",
        r"offerte?s?(?!\w)",
        r"offres?(?!\w)",
        r"remise(?!\w)",
        r"cadeaux?(?!\w)",
        r"en\s+(?:magasin|boutique)",
        r"sur notre (?:site|boutique|e-?shop|appli\w*)",
        r"exclusi(?:f|ve|vement|vite)s?",
        r"nouveautes?",
        r"ne tardez (?:pas|plus)",
        r"exceptionnel(?:le)?s?",
        r"contactez-nous",
        r"tout le (?:mois|week-?end)",
        r"toute la semaine",
        r"appelez-nous",
    ),
    *_phrases(WEAK, _AMOUNT_D, _AMOUNT_E, kind="amount"),
)


def _first_character(pattern: str) -> tuple[str, str]:
    """A phrase as its plain first character (as written in the pattern: a letter, `\\d`,
    `\\+`) and the rest; ("", pattern) when it starts otherwise (a group, a class)."""
    if pattern.startswith("\\d+"):  # \d+ is \d\d*: grouped with the other digits
        pattern = "\\d\\d*" + pattern[3:]
    first = pattern[:2] if pattern.startswith("\\") else pattern[:1]
    rest = pattern[len(first) :]
    if first in ("(", "[", "\\") or first[-1] in ".^$" or rest[:1] in ("?", "*", "+", "{"):
        return "", pattern
    return first, rest


def _groups(phrases: tuple[_Phrase, ...]) -> dict[str, list[tuple[int, str]]]:
    """The phrases by first character, in priority order within each."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for index, phrase in enumerate(phrases):
        first, rest = _first_character(phrase.pattern)
        groups.setdefault(first, []).append((index, rest))
    return groups


def _alternation(first: str, members: list[tuple[int, str]], *, named: bool) -> str:
    rests = (f"(?P<p{index}>{rest})" if named else rest for index, rest in members)
    return f"{first}(?:{'|'.join(rests)})"


_GROUPS: Final = _groups(_PHRASES)

# The word starts (not inside a word, not after a hyphen: "non-stop") where some phrase matches.
# A lookahead, so that overlapping phrases at different positions are all seen; grouped by first
# character, so that the engine skips a whole group on one comparison; and without capturing
# groups, which would make the scan of every position several times slower.
_SCAN: Final = re.compile(
    r"(?<![\w-])(?="
    + "|".join(_alternation(first, members, named=False) for first, members in _GROUPS.items())
    + ")"
)


def _dispatch() -> dict[str, tuple[re.Pattern[str], ...]]:
    """For each character a phrase may start with, the groups to try there (each phrase in a
    named group `p<index>`): its own, the digits' for a digit, and those with no plain first
    character."""
    compiled = {
        first: re.compile(_alternation(first, members, named=True))
        for first, members in _GROUPS.items()
    }
    anywhere = (compiled[""],) if "" in compiled else ()
    table: dict[str, tuple[re.Pattern[str], ...]] = {}
    for first, pattern in compiled.items():
        if first == "\\d":
            for digit in "0123456789":
                table[digit] = (*table.get(digit, ()), pattern)
        elif first:
            char = first[-1]  # "\\+" is "+"
            table[char] = (*table.get(char, ()), pattern)
    return {char: patterns + anywhere for char, patterns in table.items()} | {"": anywhere}


_DISPATCH: Final = _dispatch()


def _phrase_at(folded: str, start: int) -> tuple[int, int] | None:
    """The first phrase, in priority order, that matches at `start`: its index and end."""
    best: tuple[int, int] | None = None
    patterns = _DISPATCH.get(folded[start], _DISPATCH[""])
    for pattern in patterns:
        match = pattern.match(folded, start)
        if match is None or match.lastgroup is None:
            continue
        index = int(match.lastgroup[1:])
        if best is None or index < best[0]:
            best = (index, match.end(match.lastgroup))
    return best


_LINK: Final = re.compile(
    r"(?:https?://|www\.)\S+|(?<![\w@.-])(?:[a-z0-9-]++\.)+"
    r"(?:fr|com|net|eu|shop|store|boutique|re|gp|mq|gf|yt|pm|nc|pf)(?![\w-])(?:/\S*)?"
)
_LINK_HINT: Final = re.compile(
    r"://|www\.|\.(?:fr|com|net|eu|shop|store|boutique|re|gp|mq|gf|yt|pm|nc|pf)(?![\w-])"
)
_STRONG_LINK: Final = re.compile(r"promo|solde|offre|deal|bon-?plan|black-?friday|reduc|coupon")
_SHOP_LINK: Final = re.compile(r"shop|boutique|store|magasin|utm_|catalogue")

_CODE: Final = re.compile(
    r"(?<![\w-])(?:(?P<intro>avec|utilisez|utiliser|grace au|grace a|profitez du|mentionnez|"
    r"presentez|indiquez|saisissez|saisir|entrez|entrer|tapez|renseignez)\s+"
    r"(?:le\s+|votre\s+|ce\s+)?)?(?P<code>code)\s*:?\s+(?P<token>\{ *|[^\s,.;:!?()]+)"
)
_INVITING: Final = frozenset(
    {
        "avec",
        "utilisez",
        "utiliser",
        "grace au",
        "grace a",
        "mentionnez",
        "presentez",
        "profitez du",
    }
)
# A text about these codes is about security, access or a parcel: its codes promote nothing.
_OTP_CONTEXT: Final = re.compile(
    r"(?<![a-z])(?:verification|validation|confirm|securite|connexion|d'acces|authentification|"
    r"activation|usage unique|ne le (?:communiquez|partagez|transmettez|donnez)|"
    r"valable\s+\d+\s*(?:min|h)|expire|temporaire|provisoire|confidentiel|mot de passe|"
    r"identifiant|pin(?!\w)|digicode|retrait|consigne|casier|locker|portail|immeuble)"
)
# Words a text in capitals puts after "code" that are no promo code.
_NOT_A_CODE: Final = frozenset(
    {
        *("DE", "DU", "DES", "EST", "POUR", "VALABLE", "SECRET", "PERSONNEL", "CONFIDENTIEL"),
        *("POSTAL", "CLIENT", "ACCES", "SUIVANT", "RECU", "ENVOYE", "UNIQUE", "TEMPORAIRE"),
        *("PROVISOIRE", "PIN", "PUK", "SMS", "OTP", "IBAN", "BIC", "APE", "NAF", "EAN", "CVV"),
        *("SWIFT", "RIB", "WIFI", "QUI", "QUE", "SUR", "PAR", "AVEC", "SANS", "DANS", "VOTRE"),
        *("VOS", "NOTRE", "NOS", "CET", "CETTE", "AUX", "LES", "UNE", "PROMO", "ETAIT", "SERA"),
    }
)
_CAPITAL_RUN: Final = re.compile(r"[A-Z]{3}")
_CODE_TOKEN: Final = re.compile(r"[A-Z0-9-]{3,20}")

_PLACEHOLDER: Final = re.compile(r"\{[^{}]*\}")
_TAX: Final = re.compile(
    r"(?:jusqu'a\s+)?(?:\d+(?:[.,]\d+)?\s?%\s+(?:de\s+)?)?(?:reductions?|deductions?|credits?|"
    r"avantages?)\s+(?:d'impots?|fiscales?|de\s+(?:vos\s+|votre\s+|l')?impots?|"
    r"sur\s+(?:le\s+revenu|votre\s+impot|l'impot))"
    r"(?:\s+(?:de|a hauteur de)\s+\d+(?:[.,]\d+)?\s?%)?|"
    r"deductibles?\s+(?:de\s+vos\s+|de\s+votre\s+|des\s+)?impots?|recus? fiscal|recus? fiscaux|"
    r"defiscalis\w*"
)
_DONATION: Final = re.compile(
    r"(?<!\w)(?:dons?|donateurs?|donatrices?|donnez|soutenez|collecte|cotisations?)(?!\w)"
)
_DIGIT: Final = re.compile(r"\d")
_MANY: Final = 64  # signals beyond which repeats are dropped before weighing (quadratic)
_QUOTE_TRIM: Final = " \t\n.,;:!?()[]\"'"


class _Signal(NamedTuple):
    weight: int
    start: int
    end: int
    kind: str | int  # what counts once: a phrase (its index), "amount", "link" or "code"


def promotion_verdict(text: str) -> PromotionVerdict:
    """Whether a message template's literal text promotes, and the phrases that say so."""
    folded, where = _fold_keeping_positions(text)
    if "{" in folded:
        folded = _PLACEHOLDER.sub(lambda m: "{" + " " * (len(m.group(0)) - 1), folded)
    if "impot" in folded or "fisca" in folded or "revenu" in folded:
        folded = _TAX.sub(lambda m: " " * len(m.group(0)), folded)
    found = list(_phrase_signals(folded))
    if _LINK_HINT.search(folded):
        found.extend(_link_signals(folded))
    if "code" in folded:
        found.extend(_code_signals(folded, text, where))
    if not found:
        return PromotionVerdict(False, ())
    if len(found) > _MANY:  # a long text repeating itself: one of each phrase is enough
        found = list({(s.kind, folded[s.start : s.end]): s for s in reversed(found)}.values())
    kept = _outermost(found)
    score = sum({s.kind: s.weight for s in reversed(kept)}.values())  # a kind counts once
    best = kept[0].weight
    promotional = best >= STRONG or (best >= MEDIUM and score >= THRESHOLD)
    return PromotionVerdict(promotional, _quotes(kept, text, where))


def _phrase_signals(folded: str) -> Iterator[_Signal]:
    donation: bool | None = None
    for found in _SCAN.finditer(folded):
        start = found.start()
        at = _phrase_at(folded, start)
        if at is None:  # pragma: no cover - the scan found a phrase there
            continue
        index, end = at
        phrase = _PHRASES[index]
        if phrase.kind == "price":
            if donation is None:
                donation = _DONATION.search(folded) is not None
            if donation:
                continue
        elif phrase.kind == "pct_on":
            if _NOT_A_RATE.search(folded, max(0, start - 40), start):
                continue
        elif phrase.kind == "n_for_m":
            digits = _DIGIT.findall(folded, start, end)
            more, fewer = int(digits[0]), int(digits[-1])
            if not (2 <= more <= 5 and 1 <= fewer < more):
                continue
        yield _Signal(phrase.weight, start, end, "amount" if phrase.kind == "amount" else index)


def _link_signals(folded: str) -> Iterator[_Signal]:
    for match in _LINK.finditer(folded):
        link = match.group(0)
        if _STRONG_LINK.search(link):
            yield _Signal(STRONG, match.start(), match.end(), "link")
        elif _SHOP_LINK.search(link) or link.endswith((".shop", ".store", ".boutique")):
            yield _Signal(WEAK, match.start(), match.end(), "link")


def _code_signals(folded: str, text: str, where: list[int] | None) -> Iterator[_Signal]:
    codes = list(_CODE.finditer(folded))
    if not codes or _OTP_CONTEXT.search(folded):
        return
    for match in codes:
        token = match.group("token")
        if token.startswith("{"):
            promo = match.group("intro") in _INVITING
        else:
            original = _original(text, where, *match.span("token"))
            promo = (
                _CODE_TOKEN.fullmatch(original) is not None
                and _CAPITAL_RUN.search(original) is not None
                and original.strip("-") not in _NOT_A_CODE
            )
        if promo:
            yield _Signal(STRONG, match.start("code"), match.end("token"), "code")


def _outermost(found: list[_Signal]) -> list[_Signal]:
    """The signals strongest first, then in text order, without those inside a stronger (or
    equal) one: "gratuit" inside "essai gratuit" is the same evidence, counted once."""
    kept: list[_Signal] = []
    for signal in sorted(found, key=lambda s: (-s.weight, s.start, s.start - s.end)):
        if not any(k.start <= signal.start and signal.end <= k.end for k in kept):
            kept.append(signal)
    return kept


def _original(text: str, where: list[int] | None, start: int, end: int) -> str:
    if where is None:
        return text[start:end]
    return text[where[start] : where[end - 1] + 1]


def _quotes(kept: list[_Signal], text: str, where: list[int] | None) -> tuple[str, ...]:
    """The phrases quoted from the text, in the order given, each once."""
    quotes: list[str] = []
    seen: set[str] = set()
    for signal in kept:
        phrase = _original(text, where, signal.start, signal.end).strip(_QUOTE_TRIM)
        key = fold(phrase)
        if phrase and key not in seen:
            seen.add(key)
            quotes.append(phrase)
    return tuple(quotes)
