import { redirect } from "next/navigation";

/** /dashboard has nothing of its own: the jobs overview is the dashboard. */
export default function DashboardIndex() {
  redirect("/dashboard/admin/cron-jobs");
}
