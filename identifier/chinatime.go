package identifier

import "time"

// chinaTime is China Standard Time, UTC+8 all year.
var chinaTime = time.FixedZone("CST", 8*60*60)

// ChinaTime returns China Standard Time (UTC+8 all year, no daylight
// saving), in which the civil dates of the project are written: birth
// dates in a citizen identity number, a licence's validity dates, and the
// dates and times shown to people. It is the one such zone the project
// uses.
func ChinaTime() *time.Location { return chinaTime }
