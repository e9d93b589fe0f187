// What the embedding page says its thread is: the article's title and URL. Sent with the
// snapshot request; the server keeps them only for a thread not yet named, from a page its
// site lists, and a URL on the site's origins (so mails name the article and link to it).

/**
 * `data-title` / `data-url` of the host, else the page's canonical link (or its address
 * without query and hash) and its document title.
 * @param {DOMStringMap} data @returns {Record<string, string>}
 */
export function pageMeta(data) {
  const canonical = document.querySelector('link[rel="canonical"]');
  const here = new URL(location.href);
  here.search = here.hash = "";
  let url = here.href;
  try {
    url = new URL(data.url || (canonical instanceof HTMLLinkElement && canonical.href) || url, url).href;
  } catch {
    // A malformed data-url: the page's own address will do.
  }
  return { title: (data.title || document.title).trim().slice(0, 200), url };
}
