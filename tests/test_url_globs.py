"""``match.url`` globs matched part by part: scheme, host, path, and the query only when asked."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acsync.core.rules import ContentType, Match, UrlGlob
from tests.conftest import at, ev, ruleset

BLOG = "https://*.example.com/blog/*"


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        # the case: `*` no longer runs across the host, `/` and `?`
        (BLOG, "https://evil.com/?r=.example.com/blog/z", False),
        (BLOG, "https://www.example.com/blog/a", True),
        (BLOG, "https://example.com/blog/a", True),  # `*.` is the domain or any subdomain
        (BLOG, "https://a.b.example.com/blog/2026/03/post", True),  # `*` in the path crosses `/`
        (BLOG, "https://evilexample.com/blog/a", False),
        (BLOG, "https://www.example.com.evil.net/blog/a", False),
        (BLOG, "https://www.example.com@evil.com/blog/a", False),  # user info is not the host
        (BLOG, "https://evil.com/www.example.com/blog/a", False),
        (BLOG, "http://www.example.com/blog/a", False),  # the scheme is matched too
        (BLOG, "HTTPS://WWW.EXAMPLE.COM/BLOG/A", True),  # case-insensitive
        (BLOG, "https://www.example.com:443/blog/a", True),  # the default port is no port
        (BLOG, "https://www.example.com:8443/blog/a", False),
        (BLOG, "https://www.example.com/blog/a?utm_source=x#top", True),  # no query in the pattern
        (BLOG, "https://www.example.com/pricing?next=/blog/a", False),
        ("https://www.example.com/*?utm_source=news*", "https://www.example.com/a?utm_source=news1", True),
        ("https://www.example.com/*?utm_source=news*", "https://www.example.com/a?utm_source=ads", False),
        ("https://www.example.com/*?utm_source=news*", "https://www.example.com/a", False),
        ("https://www.example.com", "https://www.example.com/any/page", True),  # no path: any path
        ("https://www.example.com/", "https://www.example.com", True),  # an empty path is `/`
        ("https://www.example.com/", "https://www.example.com/a", False),
        ("http*://shop-*.example.com/cart", "http://shop-eu.example.com/cart", True),
        ("https://localhost:8080/*", "https://localhost:8080/x", True),
        (BLOG, "not a url", False),
        (BLOG, "https://[::1/blog/a", False),  # unparseable: no match, no error
        # as a browser reads the URL (WHATWG): a backslash is a slash, dot segments resolved
        (BLOG, "https://evil.com\\@www.example.com/blog/a", False),  # the host is evil.com
        (BLOG, "https://www.example.com/blog/%2e%2e/pricing", False),  # that is /pricing
        (BLOG, "https://www.example.com/blog/../pricing", False),
        (BLOG, "https://www.example.com/blog/./a", True),
        (BLOG, "https://www.example.com/x/../blog/a", True),
        (BLOG, "https://www.example.com\\blog\\a", True),  # what the browser asks for
        (BLOG, " https://www.exa\tmple.com/blog/a\n", True),  # tabs, newlines, outer spaces dropped
        (BLOG, "https://www.exa%6Dple.com/blog/a", True),  # the host percent-decoded
        (BLOG, "https://www.example.com./blog/a", True),  # its final dot dropped
        (BLOG, "https://evil.com%2F.example.com/blog/a", False),  # decoded, not a subdomain
        ("http://good.com*", "http://good.com%2fevil.com/", False),  # a browser refuses that host
        # without `://`: the URL up to its query, `*` as in the shell
        ("*/blog/*", "https://x.org/en/blog/a", True),
        ("*/blog/*", "https://evil.com/?r=/blog/x", False),
        ("*/blog/*", "https://evil.com/#/blog/x", False),
        ("*?utm=*", "https://x.org/?utm=1", True),  # a `?` in the pattern: the whole URL
        ("*utm=*", "https://x.org/?utm=1", False),  # none: the query is not looked at
        ("*", "anything", True),
    ],
)
def test_url_globs(pattern: str, url: str, matches: bool) -> None:
    assert UrlGlob(pattern)(url) is matches


def test_a_rule_and_a_content_type_match_urls_alike() -> None:
    rs = ruleset(rules=[{"name": "Blog", "on": "site_visit", "points": 10, "match": {"url": BLOG}}])
    bad = ev("site_visit", at(0), url="https://evil.com/?r=.example.com/blog/z")
    good = ev("site_visit", at(0), url="https://www.example.com/blog/z")
    ct = ContentType("blog", frozenset({"site_visit"}), Match({"url": BLOG}))
    assert [rs.rules[0].match(bad), rs.rules[0].match(good)] == [False, True]
    assert [ct(bad), ct(good)] == [False, True]
    assert Match({"url": BLOG}).accepts("url", "https://evil.com/?r=.example.com/blog/z") is False


def test_other_keys_keep_plain_globs() -> None:
    """Only `url` is read as a URL: a `*` elsewhere runs across anything, as in the shell."""
    assert Match({"name": "https://*.example.com/*"}).accepts("name", "https://evil.com/?r=.example.com/x")


labels = st.text(alphabet="abcxyz0-", min_size=1, max_size=5).filter(lambda s: s[0] != "-")
hosts = st.lists(labels, min_size=1, max_size=4).map(".".join)
paths = st.text(alphabet="abc/?=&#.:@", max_size=12)


@given(hosts, hosts, paths, st.sampled_from(["*", "blog/*", "*?*", ""]))
def test_a_host_wildcard_never_matches_another_registrable_host(
    domain: str, host: str, tail: str, pattern_path: str
) -> None:
    """`https://*.D/…` matches only D and its subdomains, whatever the path, query or user info
    of the URL try to smuggle in (D itself may appear anywhere else in it)."""
    pattern = UrlGlob(f"https://*.{domain}/{pattern_path}")
    for url in (
        f"https://{host}/{tail}",
        f"https://{host}/{tail}{domain}",
        f"https://{domain}@{host}/{tail}",
    ):
        if pattern(url):
            real = urlsplit(url).hostname or ""
            assert real == domain or real.endswith("." + domain), (pattern.pattern, url)
