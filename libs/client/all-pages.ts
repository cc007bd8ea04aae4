/**
 * Every item of a paged list RPC: asks for page after page with each response's
 * next_page_token until one comes back empty. The server reads every page of one listing
 * at the revision of its first page, so the items together are one consistent state.
 */
export async function allPages<T, R extends { nextPageToken: string }>(
  fetchPage: (pageToken: string) => Promise<R>,
  itemsOf: (response: R) => T[],
): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  do {
    const response = await fetchPage(token);
    items.push(...itemsOf(response));
    token = response.nextPageToken;
  } while (token !== '');
  return items;
}
