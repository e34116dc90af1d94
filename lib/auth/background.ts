/**
 * How the dashboard marks the requests it makes on its own (no import here: client components
 * use these too). A marked request is authenticated like any other but does not count as the
 * user's activity, so an open tab does not keep its session alive past the idle limit. A
 * client can only make its own session idle out sooner with these, never later.
 */

/** Sent by the running-jobs poll (and any other background fetch): `X-Crondeck-Background: 1`. */
export const BACKGROUND_HEADER = "x-crondeck-background";

/**
 * A short-lived cookie set just before a background router.refresh() (a page re-render has no
 * headers of its own to mark it): the page's session check sees it and does not count the view.
 */
export const BACKGROUND_COOKIE = "crondeck_background";
/** Seconds the marker cookie lives: the refresh's request leaves at once; later clicks count again. */
export const BACKGROUND_COOKIE_SECONDS = 2;
